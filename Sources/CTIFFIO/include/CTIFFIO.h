// CTIFFIO: tiled and striped (Big)TIFF through Debian's libtiff, for FCNSlide.
//
// libtiff reports errors through process-wide handlers that take C varargs, which Swift
// cannot implement; here they format the message into a per-thread buffer that every
// function below copies into its `error` argument (at most 255 bytes). No stable API of its
// own: only FCNSlide uses it.
#ifndef CTIFFIO_H
#define CTIFFIO_H

#include <stddef.h>
#include <stdint.h>

/// An open TIFF file (libtiff's `TIFF *`).
typedef struct fcn_tiff fcn_tiff;

/// What one directory (image) of a TIFF holds.
typedef struct {
    uint32_t width;
    uint32_t height;
    /// 1 when stored in tiles, 0 when in strips.
    int tiled;
    /// The tile's size, or for strips the image's width and rows per strip.
    uint32_t block_width;
    uint32_t block_height;
    uint16_t samples_per_pixel;
    uint16_t bits_per_sample;
    /// TIFFTAG_SUBFILETYPE (1: a reduced-resolution copy of another image).
    uint32_t subfile_type;
    /// Pixels per resolution unit (0 when absent) and TIFFTAG_RESOLUTIONUNIT (1 none, 2 inch, 3 cm).
    double x_resolution;
    double y_resolution;
    uint16_t resolution_unit;
} fcn_tiff_info;

/// Opens `path` for reading (`mode` "r") or writing ("w" classic TIFF, "w8" BigTIFF).
/// Returns NULL and a message on failure.
fcn_tiff *fcn_tiff_open(const char *path, const char *mode, char *error);

/// Closes the file; for a file being written, reports a failed final flush. Returns 0 on success.
int fcn_tiff_close(fcn_tiff *tiff, char *error);

/// The number of directories (images) in the file.
int fcn_tiff_directory_count(fcn_tiff *tiff);

/// Selects directory `index` and describes it. Returns 0 on success.
int fcn_tiff_select(fcn_tiff *tiff, int index, fcn_tiff_info *info, char *error);

/// Decodes the tile or strip of the selected directory that holds pixel (`x`, `y`) into `rgb`:
/// `block_width` × `block_height` pixels, rows top to bottom, RGB interleaved, any alpha
/// composited (as premultiplied) over `background` (0xRRGGBB). Pixels past the image's edge
/// are left as they were. Returns 0 on success.
int fcn_tiff_read_block(fcn_tiff *tiff, uint32_t x, uint32_t y, unsigned char *rgb, uint32_t background, char *error);

/// Starts a new image of the file being written: `width` × `height` 8-bit pixels of
/// `samples` channels (1 gray, 3 RGB) in `tile` × `tile` tiles, compressed by deflate
/// (`jpeg` 0) or JPEG at quality 90 (`jpeg` 1); `reduced` marks a sub-resolution level
/// (TIFFTAG_SUBFILETYPE); resolution in pixels per centimetre when `pixels_per_cm` > 0;
/// `description` (may be NULL) as TIFFTAG_IMAGEDESCRIPTION. Returns 0 on success.
int fcn_tiff_begin_image(fcn_tiff *tiff, uint32_t width, uint32_t height, uint32_t tile, int samples, int jpeg, int reduced,
                         double pixels_per_cm, const char *description, char *error);

/// Writes the tile whose top-left pixel is (`x`, `y`): `tile` × `tile` × `samples` bytes.
int fcn_tiff_write_tile(fcn_tiff *tiff, uint32_t x, uint32_t y, const unsigned char *pixels, char *error);

/// Finishes the current image (writes its directory). Returns 0 on success.
int fcn_tiff_end_image(fcn_tiff *tiff, char *error);

#endif
