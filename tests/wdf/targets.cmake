# tests/wdf/targets.cmake - driver modules for the runtime's dlopen tests.
#
# The modules link nothing: every Wdf* symbol stays undefined in the .so and is
# resolved at dlopen time from the loading executable, which the top-level build
# links with ENABLE_EXPORTS (tests and the pcivirt command).  Loading the module
# into a process that carries a second copy of the runtime would split objects
# between two runtimes, so linking the module against libpcivirt.so is reserved
# for processes that use the shared library themselves (docs/RUNTIME.md).
foreach(mod wdf_sample_driver wdf_no_entry_module)
  if(mod STREQUAL "wdf_sample_driver")
    set(src "${CMAKE_CURRENT_LIST_DIR}/sample_driver.c")
  else()
    set(src "${CMAKE_CURRENT_LIST_DIR}/no_entry_module.c")
  endif()
  add_library(${mod} MODULE "${src}")
  target_include_directories(${mod} PRIVATE "${CMAKE_SOURCE_DIR}/include")
  set_target_properties(${mod} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
endforeach()
if(TARGET wdf_test_driver_module)
  add_dependencies(wdf_test_driver_module wdf_sample_driver wdf_no_entry_module)
endif()
