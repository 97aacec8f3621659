# ctest driver: install the built library into a staging prefix, then
# configure, build and run tests/consumer against it.
file(REMOVE_RECURSE "${FB_STAGING_DIR}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${FB_BINARY_DIR}" --prefix "${FB_STAGING_DIR}/prefix"
  RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "install into the staging prefix failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${FB_CONSUMER_SOURCE_DIR}" -B "${FB_STAGING_DIR}/build"
  -G "${FB_GENERATOR}" -DCMAKE_BUILD_TYPE=${FB_BUILD_TYPE}
  -DCMAKE_PREFIX_PATH=${FB_STAGING_DIR}/prefix RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${FB_STAGING_DIR}/build" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
execute_process(COMMAND "${FB_STAGING_DIR}/build/consumer" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the consumer ran but failed: ${rc}")
endif()
