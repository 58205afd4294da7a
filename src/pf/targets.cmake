# The reference PF driver as a loadable module: pcivirt_pf.so exports DriverEntry
# (src/pf/module.c) and resolves the runtime's functions from the process that
# loads it (an executable linked with ENABLE_EXPORTS, or libpcivirt.so).  The
# driver's own code and its small util dependencies are compiled in with hidden
# visibility and bound with -Bsymbolic, so a module never calls into another
# copy of the driver that the host process may have linked in.
file(GLOB PCIVIRT_PF_DRIVER_SOURCES CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/src/pf/*.c"
  "${CMAKE_SOURCE_DIR}/src/pf/hw/*.c")
set(PCIVIRT_PF_DRIVER_SOURCES ${PCIVIRT_PF_DRIVER_SOURCES}
  "${CMAKE_SOURCE_DIR}/src/util/alloc.c" "${CMAKE_SOURCE_DIR}/src/util/nt.c" "${CMAKE_SOURCE_DIR}/src/util/rwlock.c")

# pcivirt_pf_module(NAME [sources...]): one driver module built from the driver sources.
function(pcivirt_pf_module name outdir)
  add_library(${name} MODULE ${PCIVIRT_PF_DRIVER_SOURCES} ${ARGN})
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY "${outdir}")
  target_include_directories(${name} PRIVATE "${CMAKE_SOURCE_DIR}/include" "${CMAKE_SOURCE_DIR}/src")
  target_link_options(${name} PRIVATE -Wl,-Bsymbolic)
  target_link_libraries(${name} PRIVATE Threads::Threads)
endfunction()

pcivirt_pf_module(pcivirt_pf "${CMAKE_BINARY_DIR}/drivers")
target_compile_definitions(pcivirt_pf PRIVATE PCIVIRT_PF_MODULE)
install(TARGETS pcivirt_pf LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/pcivirt/drivers)
