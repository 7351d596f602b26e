// Configure-time probe (meson.build): does this glslang compile the OpSDot intrinsic?
#version 450
#extension GL_EXT_control_flow_attributes : enable
#extension GL_GOOGLE_include_directive : require
#include "int_dot.glsl"
layout(local_size_x = 1) in;
layout(std430, binding = 0) buffer B { uint v[]; };
void main() { v[0] = uint(vkq_dot4(v[1], v[2])); }
