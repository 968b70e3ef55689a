# The version, git commit and build type every binary reports (--version,
# /v1/report, kvhost_build_info, the daemon's first log line). The commit is
# read at configure time; CMake configures again when HEAD or its branch moves.
set(KVHOST_GIT_COMMIT "unknown")
if(EXISTS "${CMAKE_SOURCE_DIR}/.git")
  execute_process(COMMAND git -C "${CMAKE_SOURCE_DIR}" rev-parse --short=12 HEAD
    OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0)
    set(KVHOST_GIT_COMMIT "${commit}")
    execute_process(COMMAND git -C "${CMAKE_SOURCE_DIR}" status --porcelain --untracked-files=no
      OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(dirty)
      string(APPEND KVHOST_GIT_COMMIT "-dirty")
    endif()
  endif()
  execute_process(COMMAND git -C "${CMAKE_SOURCE_DIR}" rev-parse --git-path HEAD
    OUTPUT_VARIABLE head_file OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  execute_process(COMMAND git -C "${CMAKE_SOURCE_DIR}" symbolic-ref -q HEAD
    OUTPUT_VARIABLE branch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  foreach(ref IN ITEMS "${head_file}" "${branch}")
    if(ref AND NOT ref MATCHES "^/")
      execute_process(COMMAND git -C "${CMAKE_SOURCE_DIR}" rev-parse --git-path "${ref}"
        OUTPUT_VARIABLE ref OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(NOT IS_ABSOLUTE "${ref}")
        set(ref "${CMAKE_SOURCE_DIR}/${ref}")
      endif()
    endif()
    if(ref AND EXISTS "${ref}")
      set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${ref}")
    endif()
  endforeach()
endif()
configure_file("${CMAKE_SOURCE_DIR}/cmake/build_info.h.in"
  "${CMAKE_BINARY_DIR}/generated/kvhost_build_info.h" @ONLY)
