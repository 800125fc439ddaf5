# The fuzz targets and what each needs. Included by the libFuzzer build
# (tests/fuzz/CMakeLists.txt, AESIGNAL_FUZZ=ON) and by the replay tests that
# run the same targets with the normal compiler (tests/CMakeLists.txt).
set(AESIGNAL_FUZZ_TARGETS
  fuzz_report_validation
  fuzz_csv
  fuzz_trial_json
  fuzz_keys
  fuzz_http_request
  fuzz_dirty_mark)
set(AESIGNAL_FUZZ_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz)

# Per target: sources besides <target>.cc, and libraries. The CSV code is
# compiled in (rather than linking aesignal_cli_lib) so the fuzz build does
# not have to build the SDK and the importer.
set(fuzz_report_validation_LIBS aesignal::domain)
set(fuzz_csv_SOURCES
  ${PROJECT_SOURCE_DIR}/clients/cli/csv.cc
  ${PROJECT_SOURCE_DIR}/clients/cli/csv_mapping.cc)
set(fuzz_csv_LIBS aesignal::proto absl::strings absl::statusor)
set(fuzz_trial_json_LIBS aesignal::domain)
set(fuzz_keys_LIBS aesignal::storage)
set(fuzz_dirty_mark_LIBS aesignal::storage)
set(fuzz_http_request_LIBS aesignal::http_gateway)

# Executable `exe` of fuzz target `name`, plus the sources in ARGN.
function(aesignal_add_fuzz_executable exe name)
  add_executable(${exe} ${AESIGNAL_FUZZ_DIR}/${name}.cc ${${name}_SOURCES}
    ${ARGN})
  target_include_directories(${exe} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${exe} PRIVATE ${${name}_LIBS})
  aesignal_warnings(${exe})
endfunction()
