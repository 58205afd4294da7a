# The command tests run the built binary and, for conform, the broken mini driver modules of tests/pf.
foreach(t cli_test_run cli_test_run_topology cli_test_conventions cli_test_manpage cli_test_lspci cli_test_lspci_errors)
  if(TARGET ${t})
    add_dependencies(${t} pcivirt_cli)
  endif()
endforeach()
if(TARGET cli_test_conform)
  add_dependencies(cli_test_conform pcivirt_cli pf_mini_block_129 pf_mini_notify_all pcivirt_pf)
endif()
