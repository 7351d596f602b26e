/* An application that links the system's libvulkan and calls it itself, next to vkquant (which
 * loads Vulkan on its own through volk): vkquant must not export volk's vk* pointers or anything
 * else that could take the place of the application's Vulkan functions. Runs the README example
 * (readme_example.c, built with main renamed) between its own Vulkan calls. */
#undef VK_NO_PROTOTYPES
#include <stdio.h>

#include <vulkan/vulkan.h>

int vkq_readme_example(void);

int main(void)
{
    uint32_t version = 0;
    if (vkEnumerateInstanceVersion(&version) != VK_SUCCESS) {
        fprintf(stderr, "vkEnumerateInstanceVersion failed\n");
        return 1;
    }
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    VkInstance inst;
    VkResult r = vkCreateInstance(&ci, NULL, &inst);
    if (r != VK_SUCCESS) {
        fprintf(stderr, "vkCreateInstance failed (%d)\n", (int)r);
        return 1;
    }
    uint32_t count = 0;
    vkEnumeratePhysicalDevices(inst, &count, NULL);
    printf("the application's libvulkan: Vulkan %u.%u, %u physical device(s)\n", VK_API_VERSION_MAJOR(version),
           VK_API_VERSION_MINOR(version), count);
    int rc = vkq_readme_example();
    /* The application's instance is still its own after vkquant created and destroyed one. */
    uint32_t again = 0;
    if (vkEnumeratePhysicalDevices(inst, &again, NULL) != VK_SUCCESS || again != count) {
        fprintf(stderr, "the application's instance changed under vkquant\n");
        rc = 1;
    }
    vkDestroyInstance(inst, NULL);
    return rc;
}
