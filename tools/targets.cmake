# tools/targets.cmake - the benchmarks build the whole machine with the world
# module (tools/world.h), which lives in the command's static library because
# only the top layer may see both the stack and the guest (scripts/check-layers.sh).
file(GLOB pcivirt_world_benches CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/bench/bench_*.c")
foreach(src ${pcivirt_world_benches})
  get_filename_component(name "${src}" NAME_WE)
  if(TARGET ${name})
    target_link_libraries(${name} PRIVATE pcivirt_tools)
  endif()
endforeach()
