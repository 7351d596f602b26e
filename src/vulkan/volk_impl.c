/* Compiles the system volk (Debian's libvulkan-volk-dev ships it as source in /usr/include).
 * Only the loader functions and volkLoadInstanceOnly/volkLoadDeviceTable are used: device
 * functions always go through a per-device VolkDeviceTable. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wcast-function-type"
#endif
#include <volk.c>
