# Warnings and sanitizer flags shared by every Cairn target (through the cairn_flags interface).
add_library(cairn_flags INTERFACE)
target_compile_options(cairn_flags INTERFACE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
# In a unity build GCC sees each .cc as an included header and warns that a coroutine frame holds a
# type from that file's anonymous namespace (-Wsubobject-linkage); the frame never leaves the file.
if(CMAKE_UNITY_BUILD AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(cairn_flags INTERFACE -Wno-subobject-linkage)
endif()

if(CAIRN_SANITIZER STREQUAL "address")
  # Without UBSan's vptr check (the dynamic type at every member call and downcast): it made this
  # build's compiles about 25 % slower (Clang 14, the engine's sources), and a call through a
  # freed object, its usual finding, is AddressSanitizer's heap-use-after-free already.
  set(_san -fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer
           -fno-sanitize-recover=undefined)
elseif(CAIRN_SANITIZER STREQUAL "thread")
  set(_san -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT CAIRN_SANITIZER STREQUAL "")
  message(FATAL_ERROR "CAIRN_SANITIZER must be address, thread or empty, not '${CAIRN_SANITIZER}'")
endif()
if(_san)
  # Sanitizers apply to the whole build so that every object agrees on instrumentation.
  add_compile_options(${_san})
  add_link_options(${_san})
  add_compile_definitions(CAIRN_SANITIZER_BUILD=1)
endif()
