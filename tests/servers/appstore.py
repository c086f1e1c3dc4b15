"""The store stand-in moved to mailbot.demo.stores.apple (`mailbot demo` starts it from the installed
package); this name stays for the suite."""

from mailbot.demo.stores.apple import *  # noqa: F403
