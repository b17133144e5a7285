# The native backend's addon (see native/addon.cc). The kernels are compiled three times, once per
# instruction set, each in its own static library with its own -m flags; the addon itself is built
# for any x86-64 and picks a table at run time from the CPU's features (RECUR_NATIVE_ISA forces one).
{
  "variables": {
    "recur_cflags": ["-O3", "-fno-math-errno", "-fPIC", "-std=gnu++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-unused-function"]
  },
  "targets": [
    {
      "target_name": "recur_isa_scalar",
      "type": "static_library",
      "sources": ["native/isa_scalar.cc"],
      "cflags_cc": ["<@(recur_cflags)"],
      "cflags_cc!": ["-fno-exceptions", "-O2", "-O0"]
    },
    {
      "target_name": "recur_isa_avx2",
      "type": "static_library",
      "sources": ["native/isa_avx2.cc"],
      "cflags_cc": ["<@(recur_cflags)", "-mavx2", "-mfma"],
      "cflags_cc!": ["-O2", "-O0"]
    },
    {
      "target_name": "recur_isa_avx512",
      "type": "static_library",
      "sources": ["native/isa_avx512.cc"],
      "cflags_cc": ["<@(recur_cflags)", "-mavx512f", "-mavx2", "-mfma", "-Wno-maybe-uninitialized", "-Wno-uninitialized"],
      "cflags_cc!": ["-O2", "-O0"]
    },
    {
      "target_name": "recur_native",
      "dependencies": [
        "recur_isa_scalar",
        "recur_isa_avx2",
        "recur_isa_avx512",
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api"
      ],
      "sources": ["native/addon.cc", "native/pool.cc"],
      "cflags_cc": ["<@(recur_cflags)", "-pthread"],
      "cflags_cc!": ["-O2", "-O0"],
      "ldflags": ["-pthread"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
