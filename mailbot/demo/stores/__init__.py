"""Loopback stand-ins of App Store Connect and Google Play, for the tests and `mailbot demo`: never for
production."""
