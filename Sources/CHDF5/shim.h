// CHDF5: the parts of libhdf5 that Swift cannot import by itself.
//
// libhdf5 exposes its type ids, property-list defaults and access flags as C macros
// that expand to function calls or global variables (`H5T_NATIVE_FLOAT`,
// `H5P_DEFAULT`, `H5F_ACC_RDONLY`). Swift's importer skips such macros, so each one
// is wrapped here in a `static inline` function. This module has no stable API of its
// own: only HDF5Reader and HDF5Writer use it.
#ifndef CHDF5_SHIM_H
#define CHDF5_SHIM_H

#include <hdf5.h>
#include <string.h>

static inline hid_t chdf5_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t chdf5_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t chdf5_c_string(void) { return H5T_C_S1; }
static inline hid_t chdf5_little_endian_float(void) { return H5T_IEEE_F32LE; }
static inline hid_t chdf5_link_create_class(void) { return H5P_LINK_CREATE; }
static inline hid_t chdf5_property_default(void) { return H5P_DEFAULT; }
static inline unsigned chdf5_access_read_only(void) { return H5F_ACC_RDONLY; }
static inline unsigned chdf5_access_truncate(void) { return H5F_ACC_TRUNC; }
static inline size_t chdf5_variable_length(void) { return H5T_VARIABLE; }
static inline hid_t chdf5_file_access_class(void) { return H5P_FILE_ACCESS; }

/// Stops libhdf5 from printing its error stack to stderr (errors are reported as values
/// instead) and from running its own clean-up at exit: every file FCNKit opens is closed
/// explicitly, and after a failed close (a full disk) that clean-up would flush the file again
/// and crash in libhdf5. `H5dont_atexit` must come before libhdf5 initialises; later calls are
/// ignored.
static inline void chdf5_silence_error_printing(void) {
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

// Keeps the innermost (most specific) message of the error stack.
static inline herr_t chdf5_keep_message(unsigned n, const H5E_error2_t *error, void *buffer) {
    if (n == 0 && error != NULL && error->desc != NULL) {
        strncpy((char *)buffer, error->desc, 255);
        ((char *)buffer)[255] = '\0';
    }
    return 0;
}

/// Copies the most specific message of the current thread's libhdf5 error stack into
/// `buffer` (at least 256 bytes), empty when the stack is empty, then clears the stack.
static inline void chdf5_take_error_message(char *buffer) {
    buffer[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, chdf5_keep_message, buffer);
    H5Eclear2(H5E_DEFAULT);
}

#endif
