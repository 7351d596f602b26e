// The mat-vec for routed experts (ggml's MUL_MAT_ID): one dispatch runs every selected expert of
// every token. Workgroup z is a (token, slot) pair; it reads the pair's expert id and multiplies
// that expert's matrix (the 3-D tensor [n_expert][m][k], experts expert_stride bytes apart) by
// the token's X column (gate, up) or the pair's (down), into the pair's Y column. One column per
// workgroup (MAXC = 1): each pair has its own matrix. See mul_mat_vec.comp for the layouts.
#define VKQ_MUL_MAT_ID 1
#include "mul_mat_vec.comp"
