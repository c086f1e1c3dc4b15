"""The store stand-in moved to mailbot.demo.stores.apple_shapes (`mailbot demo` starts it from the installed
package); this name stays for the suite."""

from mailbot.demo.stores.apple_shapes import *  # noqa: F403
