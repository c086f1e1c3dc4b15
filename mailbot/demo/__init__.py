"""`mailbot demo`: the real pipeline on sample mails from a local Maildir, replies into .eml files."""
