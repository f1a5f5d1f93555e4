# cmake -DINPUT=file -DOUTPUT=file.cc -DSYMBOL=name -DNAMESPACE=ns -P embed_text.cmake
# Writes OUTPUT defining `extern const char SYMBOL[]` in NAMESPACE with the bytes of INPUT, so a
# file of the docs (e.g. docs/formats/watershed.schema.json) is built into the binary and stays
# the one source of truth. A raw string literal, split into pieces the compiler accepts.
file(READ "${INPUT}" text)
string(FIND "${text}" ")ws_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the delimiter )ws_embed\" and cannot be embedded")
endif()
string(LENGTH "${text}" length)
set(pieces "\"\"\n")  # an empty file is an empty string
set(step 8000)
set(offset 0)
while(offset LESS length)
  string(SUBSTRING "${text}" ${offset} ${step} piece)
  string(APPEND pieces "R\"ws_embed(${piece})ws_embed\"\n")
  math(EXPR offset "${offset} + ${step}")
endwhile()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/embed_text.cmake; do not edit.\n"
  "namespace ${NAMESPACE} {\n"
  "extern const char ${SYMBOL}[];\n"
  "const char ${SYMBOL}[] =\n${pieces};\n"
  "}  // namespace ${NAMESPACE}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
