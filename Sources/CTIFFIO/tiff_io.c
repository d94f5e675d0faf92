#include "CTIFFIO.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

struct fcn_tiff {
    TIFF *handle;
};

// ---------------------------------------------------------------- errors

static _Thread_local char last_error[256];

static void record_error(const char *module, const char *format, va_list arguments) {
    char message[200];
    vsnprintf(message, sizeof message, format, arguments);
    if (module && *module) {
        snprintf(last_error, sizeof last_error, "%s: %s", module, message);
    } else {
        snprintf(last_error, sizeof last_error, "%s", message);
    }
}

static void ignore_warning(const char *module, const char *format, va_list arguments) {
    (void)module; (void)format; (void)arguments;
}

static void install_handlers(void) {
    TIFFSetErrorHandler(record_error);
    TIFFSetWarningHandler(ignore_warning);
}

/// Copies the last libtiff message (or `fallback`) into `error` and returns -1.
static int fail(char *error, const char *fallback) {
    snprintf(error, 256, "%s", last_error[0] ? last_error : fallback);
    last_error[0] = 0;
    return -1;
}

// ---------------------------------------------------------------- reading

fcn_tiff *fcn_tiff_open(const char *path, const char *mode, char *error) {
    install_handlers();
    last_error[0] = 0;
    TIFF *handle = TIFFOpen(path, mode);
    if (!handle) {
        fail(error, "not a TIFF file");
        return NULL;
    }
    fcn_tiff *tiff = malloc(sizeof *tiff);
    if (!tiff) {
        TIFFClose(handle);
        snprintf(error, 256, "out of memory");
        return NULL;
    }
    tiff->handle = handle;
    return tiff;
}

int fcn_tiff_close(fcn_tiff *tiff, char *error) {
    last_error[0] = 0;
    int status = 0;
    if (TIFFGetMode(tiff->handle) != O_RDONLY && !TIFFFlush(tiff->handle)) status = fail(error, "cannot flush the file");
    TIFFClose(tiff->handle);
    if (status == 0 && last_error[0]) status = fail(error, "cannot close the file");
    free(tiff);
    return status;
}

int fcn_tiff_directory_count(fcn_tiff *tiff) {
    return (int)TIFFNumberOfDirectories(tiff->handle);
}

int fcn_tiff_select(fcn_tiff *tiff, int index, fcn_tiff_info *info, char *error) {
    last_error[0] = 0;
    TIFF *t = tiff->handle;
    if (!TIFFSetDirectory(t, (tdir_t)index)) return fail(error, "cannot read the image directory");
    memset(info, 0, sizeof *info);
    if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &info->width) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &info->height)) {
        return fail(error, "the image has no width or height");
    }
    info->tiled = TIFFIsTiled(t);
    if (info->tiled) {
        TIFFGetField(t, TIFFTAG_TILEWIDTH, &info->block_width);
        TIFFGetField(t, TIFFTAG_TILELENGTH, &info->block_height);
    } else {
        uint32_t rows = 0;
        TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rows);
        info->block_width = info->width;
        info->block_height = rows > info->height ? info->height : rows;
    }
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &info->samples_per_pixel);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &info->bits_per_sample);
    TIFFGetFieldDefaulted(t, TIFFTAG_SUBFILETYPE, &info->subfile_type);
    float resolution = 0;
    if (TIFFGetField(t, TIFFTAG_XRESOLUTION, &resolution)) info->x_resolution = resolution;
    if (TIFFGetField(t, TIFFTAG_YRESOLUTION, &resolution)) info->y_resolution = resolution;
    TIFFGetFieldDefaulted(t, TIFFTAG_RESOLUTIONUNIT, &info->resolution_unit);
    if (info->block_width == 0 || info->block_height == 0) return fail(error, "the image has tiles or strips of size 0");
    return 0;
}

int fcn_tiff_read_block(fcn_tiff *tiff, uint32_t x, uint32_t y, unsigned char *rgb, uint32_t background, char *error) {
    last_error[0] = 0;
    TIFF *t = tiff->handle;
    uint32_t width = 0, height = 0, block_width, block_height;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &width);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &height);
    int tiled = TIFFIsTiled(t);
    uint32_t top;
    if (tiled) {
        TIFFGetField(t, TIFFTAG_TILEWIDTH, &block_width);
        TIFFGetField(t, TIFFTAG_TILELENGTH, &block_height);
        top = y - y % block_height;
    } else {
        uint32_t rows = 0;
        TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rows);
        block_width = width;
        block_height = rows > height ? height : rows;
        top = y - y % block_height;
    }
    size_t count = (size_t)block_width * block_height;
    uint32_t *raster = _TIFFmalloc((tmsize_t)(count * sizeof(uint32_t)));
    if (!raster) {
        snprintf(error, 256, "out of memory for a %ux%u block", block_width, block_height);
        return -1;
    }
    int ok = tiled ? TIFFReadRGBATile(t, x - x % block_width, top, raster) : TIFFReadRGBAStrip(t, top, raster);
    if (!ok) {
        _TIFFfree(raster);
        return fail(error, "cannot decode the image data");
    }
    // TIFFReadRGBA* fill the raster bottom-up: row 0 of the raster is the block's last row
    // (for a strip at the image's end, its last row that exists).
    uint32_t rows = tiled ? block_height : (top + block_height > height ? height - top : block_height);
    const unsigned back[3] = {(background >> 16) & 0xFF, (background >> 8) & 0xFF, background & 0xFF};
    for (uint32_t row = 0; row < rows; row++) {
        const uint32_t *source = raster + (size_t)(rows - 1 - row) * block_width;
        unsigned char *target = rgb + (size_t)row * block_width * 3;
        for (uint32_t column = 0; column < block_width; column++) {
            uint32_t pixel = source[column];
            unsigned alpha = TIFFGetA(pixel);
            unsigned values[3] = {TIFFGetR(pixel), TIFFGetG(pixel), TIFFGetB(pixel)};
            for (int channel = 0; channel < 3; channel++) {
                unsigned value = values[channel] + (back[channel] * (255 - alpha) + 127) / 255;
                target[column * 3 + channel] = (unsigned char)(value > 255 ? 255 : value);
            }
        }
    }
    _TIFFfree(raster);
    return 0;
}

// ---------------------------------------------------------------- writing

int fcn_tiff_begin_image(fcn_tiff *tiff, uint32_t width, uint32_t height, uint32_t tile, int samples, int jpeg, int reduced,
                         double pixels_per_cm, const char *description, char *error) {
    last_error[0] = 0;
    TIFF *t = tiff->handle;
    int ok = TIFFSetField(t, TIFFTAG_IMAGEWIDTH, width)
        && TIFFSetField(t, TIFFTAG_IMAGELENGTH, height)
        && TIFFSetField(t, TIFFTAG_TILEWIDTH, tile)
        && TIFFSetField(t, TIFFTAG_TILELENGTH, tile)
        && TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8)
        && TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, samples)
        && TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG)
        && TIFFSetField(t, TIFFTAG_PHOTOMETRIC, samples == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB)
        && TIFFSetField(t, TIFFTAG_SUBFILETYPE, reduced ? FILETYPE_REDUCEDIMAGE : 0)
        && TIFFSetField(t, TIFFTAG_COMPRESSION, jpeg ? COMPRESSION_JPEG : COMPRESSION_ADOBE_DEFLATE);
    if (ok && jpeg) ok = TIFFSetField(t, TIFFTAG_JPEGQUALITY, 90);
    if (ok && pixels_per_cm > 0) {
        ok = TIFFSetField(t, TIFFTAG_XRESOLUTION, (float)pixels_per_cm)
            && TIFFSetField(t, TIFFTAG_YRESOLUTION, (float)pixels_per_cm)
            && TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
    }
    if (ok && description) ok = TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, description);
    if (ok) ok = TIFFSetField(t, TIFFTAG_SOFTWARE, "FCNKit fcn heatmap");
    return ok ? 0 : fail(error, "cannot set the image's tags");
}

int fcn_tiff_write_tile(fcn_tiff *tiff, uint32_t x, uint32_t y, const unsigned char *pixels, char *error) {
    last_error[0] = 0;
    if (TIFFWriteTile(tiff->handle, (void *)pixels, x, y, 0, 0) < 0) return fail(error, "cannot write a tile");
    return 0;
}

int fcn_tiff_end_image(fcn_tiff *tiff, char *error) {
    last_error[0] = 0;
    return TIFFWriteDirectory(tiff->handle) ? 0 : fail(error, "cannot write the image directory");
}
