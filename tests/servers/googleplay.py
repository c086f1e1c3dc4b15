"""The store stand-in moved to mailbot.demo.stores.google (`mailbot demo` starts it from the installed
package); this name stays for the suite."""

from mailbot.demo.stores.google import *  # noqa: F403
