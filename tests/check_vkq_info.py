"""vkq-info prints a report per device, and --json gives the same facts as valid JSON."""
import json
import os
import subprocess
import sys

from checks import Checks, child_env, skip

exe = sys.argv[1]
base_env = child_env()
check = Checks()


text = subprocess.run([exe], capture_output=True, text=True, timeout=60, env=base_env)
if text.returncode != 0 and ("VKQ_ERROR_LOADER" in text.stderr or "VKQ_ERROR_UNSUPPORTED" in text.stderr or "No Vulkan devices" in text.stdout):
    skip("check_vkq_info", f"no Vulkan loader or device: {text.stderr.strip() or text.stdout.strip()}")
check(text.returncode == 0, f"vkq-info exited {text.returncode}: {text.stderr}")
check("(default)" in text.stdout, "text report marks no default device")
check("maxStorageBufferRange" in text.stdout, "text report lacks maxStorageBufferRange")

out = subprocess.run([exe, "--json"], capture_output=True, text=True, timeout=60, env=base_env)
check(out.returncode == 0, f"vkq-info --json exited {out.returncode}")
doc = json.loads(out.stdout)
devices = doc["devices"]
check(len(devices) >= 1, "no devices in JSON")
required = ["name", "type", "driver", "api_version", "heaps", "subgroup_size", "subgroup_min_size",
            "subgroup_max_size", "shader_float16", "storage_16bit", "storage_8bit", "shader_int8",
            "integer_dot_product", "cooperative_matrix", "cooperative_matrix_shapes",
            "max_storage_buffer_range", "max_memory_allocation_size", "max_buffer_size",
            "max_shared_memory", "timestamps", "memory_budget_ext"]
for d in devices:
    for key in required:
        check(key in d, f"device {d.get('index')} lacks {key}")
    check(d["type"] in ("discrete", "integrated", "virtual", "cpu", "other"), f"bad type {d['type']}")
    check(d["name"] in text.stdout, f"{d['name']} missing from the text report")
    check(all(h["size"] > 0 for h in d["heaps"]) and d["heaps"], "heap sizes")
    check(d["max_storage_buffer_range"] > 0 and d["subgroup_size"] > 0, "limits are zero")
check(sum(1 for d in devices if d["default"]) == 1, "exactly one default device")

# VKQ_DEVICE by index and by name selects that device; a bad selector is an error.
env = dict(base_env, VKQ_DEVICE="0")
sel = json.loads(subprocess.run([exe, "--json"], capture_output=True, text=True, env=env).stdout)
check(sel["devices"][0]["default"], "VKQ_DEVICE=0 did not select device 0")
name_part = devices[-1]["name"][:6]
env["VKQ_DEVICE"] = name_part
sel = json.loads(subprocess.run([exe, "--json"], capture_output=True, text=True, env=env).stdout)
chosen = [d["name"] for d in sel["devices"] if d["default"]]
check(chosen and name_part.lower() in chosen[0].lower(), f"VKQ_DEVICE={name_part} chose {chosen}")
env["VKQ_DEVICE"] = "no-such-gpu-xyz"
bad = subprocess.run([exe], capture_output=True, text=True, env=env)
check("no device name contains" in bad.stderr, f"bad selector not reported: {bad.stderr!r}")

print(f"{len(devices)} device(s); {check.failures} failures")
sys.exit(1 if check.failures else 0)
