# Turns the file IN into a C source OUT defining openapi_yaml[] and openapi_yaml_len.
file(READ ${IN} HEX HEX)
string(LENGTH "${HEX}" HEXLEN)
math(EXPR LEN "${HEXLEN} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${HEX}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" BYTES "${BYTES}")
file(WRITE ${OUT} "#include <stddef.h>\nconst char openapi_yaml[] = {\n${BYTES}0x00};\nconst size_t openapi_yaml_len = ${LEN};\n")
