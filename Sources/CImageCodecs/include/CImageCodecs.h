// CImageCodecs: PNG and JPEG through Debian's libpng and libjpeg-turbo.
//
// Both libraries report errors by longjmp, which must not cross Swift frames, so the
// decoding and encoding live here in C; Swift sees plain functions that return a status and
// a message. No stable API of its own: only FCNImage uses it.
#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H

#include <stddef.h>

/// 8-bit pixels, row-major, `channels` interleaved (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA).
typedef struct {
    unsigned char *pixels;
    int width;
    int height;
    int channels;
} fcn_image;

/// The status of a decoder that refused an image for its size (`out` then holds the size).
#define FCN_IMAGE_TOO_LARGE 2

/// Decodes the PNG at `path` to 8 bits per channel (16-bit samples are reduced, palettes
/// expanded, transparency kept as alpha). Refuses images of more than `max_pixels` pixels
/// before allocating them. Returns 0 on success; otherwise writes a message (at most 255
/// bytes) into `error` and returns `FCN_IMAGE_TOO_LARGE` for that refusal, 1 for the rest.
int fcn_decode_png(const char *path, long long max_pixels, fcn_image *out, char *error);

/// Decodes the baseline or progressive JPEG at `path` to gray or RGB (CMYK is refused).
int fcn_decode_jpeg(const char *path, long long max_pixels, fcn_image *out, char *error);

/// Writes 8-bit gray (1), gray+alpha (2), RGB (3) or RGBA (4) pixels as a PNG at `path`.
int fcn_encode_png(const char *path, const unsigned char *pixels, int width, int height, int channels, char *error);

/// Frees the pixels of a decoded image.
void fcn_image_free(fcn_image *image);

#endif
