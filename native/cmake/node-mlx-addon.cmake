# Shared by native/CMakeLists.txt (engine addon) and native/mx/CMakeLists.txt (array addon): finds MLX
# from the project's .venv (or -DMLX_DIR) and node-addon-api, and defines mlx_ts_node_addon() which
# makes a .node target that loads libmlx from the wheel without LD_LIBRARY_PATH.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release)
endif()

get_filename_component(MLX_TS_ROOT "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

# MLX comes from the PyPI wheel in .venv unless -DMLX_DIR points elsewhere.
if(NOT MLX_DIR)
  set(_venv_python "${MLX_TS_ROOT}/.venv/bin/python")
  if(NOT EXISTS "${_venv_python}")
    set(_venv_python python3)
  endif()
  execute_process(COMMAND "${_venv_python}" -m mlx --cmake-dir
                  OUTPUT_VARIABLE _mlx_root OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _mlx_rc)
  if(NOT _mlx_rc EQUAL 0)
    message(FATAL_ERROR "MLX not found: pass -DMLX_DIR=<dir with MLXConfig.cmake> or install mlx in .venv (python -m mlx --cmake-dir)")
  endif()
  set(MLX_DIR "${_mlx_root}")
endif()
# `python -m mlx --cmake-dir` prints the package root; the config file lives under share/cmake/MLX.
if(EXISTS "${MLX_DIR}/share/cmake/MLX/MLXConfig.cmake")
  set(MLX_DIR "${MLX_DIR}/share/cmake/MLX")
endif()
find_package(MLX CONFIG REQUIRED)

execute_process(COMMAND node -p "require('node-addon-api').include"
                WORKING_DIRECTORY "${MLX_TS_ROOT}"
                OUTPUT_VARIABLE NODE_ADDON_API_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REPLACE "\"" "" NODE_ADDON_API_DIR "${NODE_ADDON_API_DIR}")

# mlx_ts_node_addon(TARGET SOURCES... INCLUDE dir DEFINES defs...)
function(mlx_ts_node_addon target)
  cmake_parse_arguments(ARG "" "INCLUDE" "SOURCES;DEFINES" ${ARGN})
  add_library(${target} SHARED ${ARG_SOURCES} ${CMAKE_JS_SRC})
  set_target_properties(${target} PROPERTIES PREFIX "" SUFFIX ".node")
  target_include_directories(${target} PRIVATE ${CMAKE_JS_INC} "${NODE_ADDON_API_DIR}" "${ARG_INCLUDE}" ${MLX_INCLUDE_DIRS})
  target_compile_definitions(${target} PRIVATE ${ARG_DEFINES} NAPI_CPP_EXCEPTIONS NODE_ADDON_API_DISABLE_DEPRECATED)
  target_link_libraries(${target} PRIVATE mlx ${CMAKE_JS_LIB})
  if(MSVC AND CMAKE_JS_NODELIB_DEF AND CMAKE_JS_NODELIB_TARGET)
    execute_process(COMMAND ${CMAKE_AR} /def:${CMAKE_JS_NODELIB_DEF} /out:${CMAKE_JS_NODELIB_TARGET} ${CMAKE_STATIC_LINKER_FLAGS})
  endif()
  # Load libmlx from the wheel without LD_LIBRARY_PATH.
  set_target_properties(${target} PROPERTIES BUILD_RPATH "${MLX_LIBRARY_DIRS}" INSTALL_RPATH "${MLX_LIBRARY_DIRS}"
                        BUILD_WITH_INSTALL_RPATH ON)
  if(NOT APPLE AND NOT WIN32)
    target_link_options(${target} PRIVATE "-Wl,--disable-new-dtags")
  endif()
endfunction()
