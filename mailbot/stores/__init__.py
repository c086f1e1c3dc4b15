"""App-store APIs (Apple App Store Connect, Google Play Developer API): reading reviews, posting replies.

Thin clients on httpx and PyJWT at the edge of mailbot; everything else sees `model`'s values and errors.
"""
