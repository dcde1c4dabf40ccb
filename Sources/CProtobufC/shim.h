#ifndef CPROTOBUFC_SHIM_H
#define CPROTOBUFC_SHIM_H

#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>
#include <string.h>

/* `protobuf_c_empty_string` is a C array; Swift cannot take its address directly. */
static inline char *cpc_empty_string(void) {
    return (char *)protobuf_c_empty_string;
}

static inline ProtobufCMessage *cpc_message(void *message) {
    return (ProtobufCMessage *)message;
}

#endif
