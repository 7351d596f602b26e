/* vkq_status_string: a static name and short explanation per status. */
#include "vkquant/core.h"

const char *vkq_status_string(vkq_status status)
{
    switch (status) {
    case VKQ_SUCCESS:
        return "VKQ_SUCCESS: no error";
    case VKQ_ERROR_INVALID_ARGUMENT:
        return "VKQ_ERROR_INVALID_ARGUMENT: a NULL handle or pointer, a zero size or a bad enum "
               "value";
    case VKQ_ERROR_UNKNOWN_TYPE:
        return "VKQ_ERROR_UNKNOWN_TYPE: the type id or name is not in vkquant's type table";
    case VKQ_ERROR_UNSUPPORTED:
        return "VKQ_ERROR_UNSUPPORTED: the type, operation or device lacks what is needed";
    case VKQ_ERROR_BAD_SHAPE:
        return "VKQ_ERROR_BAD_SHAPE: the element count is not a whole number of blocks, or the "
               "shape is otherwise invalid";
    case VKQ_ERROR_OUT_OF_RANGE:
        return "VKQ_ERROR_OUT_OF_RANGE: offset + size lies past the end of a buffer";
    case VKQ_ERROR_OUT_OF_HOST_MEMORY:
        return "VKQ_ERROR_OUT_OF_HOST_MEMORY: a host allocation failed";
    case VKQ_ERROR_OUT_OF_DEVICE_MEMORY:
        return "VKQ_ERROR_OUT_OF_DEVICE_MEMORY: a device memory allocation failed";
    case VKQ_ERROR_TOO_LARGE:
        return "VKQ_ERROR_TOO_LARGE: a size overflows or exceeds a device limit";
    case VKQ_ERROR_NO_DEVICE:
        return "VKQ_ERROR_NO_DEVICE: no Vulkan device, or the requested one is absent";
    case VKQ_ERROR_LOADER:
        return "VKQ_ERROR_LOADER: the Vulkan loader could not be found";
    case VKQ_ERROR_VULKAN:
        return "VKQ_ERROR_VULKAN: a Vulkan call failed (device lost, ...)";
    case VKQ_ERROR_IO:
        return "VKQ_ERROR_IO: a file could not be opened, read or written";
    case VKQ_ERROR_MALFORMED:
        return "VKQ_ERROR_MALFORMED: a file's content is invalid";
    }
    return "VKQ_ERROR_UNKNOWN_STATUS: not a vkq_status value";
}
