#include "CImageCodecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

static void set_error(char *error, const char *message) {
    strncpy(error, message, 255);
    error[255] = '\0';
}

/// Whether a width × height image has more than `max_pixels` pixels; if so, says so in `error`
/// and records the size in `out`, so that the caller can tell this refusal from damage.
static int exceeds_pixel_limit(unsigned width, unsigned height, long long max_pixels, fcn_image *out, char *error) {
    if ((long long)width * (long long)height <= max_pixels) return 0;
    snprintf(error, 256, "the image is %ux%u pixels, more than the limit of %lld pixels", width, height, max_pixels);
    out->width = (int)width;
    out->height = (int)height;
    return 1;
}

// MARK: - PNG

typedef struct {
    jmp_buf jump;
    char *error;
} png_failure;

static void png_report_error(png_structp png, png_const_charp message) {
    png_failure *failure = (png_failure *)png_get_error_ptr(png);
    set_error(failure->error, message);
    longjmp(failure->jump, 1);
}

static void png_ignore_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

// Reads from the FILE that is the io pointer; a file that ends early is damage, said as such
// (libpng's own reader would say only "Read Error").
static void png_read_from_file(png_structp png, png_bytep data, size_t length) {
    if (fread(data, 1, length, (FILE *)png_get_io_ptr(png)) != length) {
        png_error(png, "the file ends before the image does (truncated or damaged)");
    }
}

int fcn_decode_png(const char *path, long long max_pixels, fcn_image *out, char *error) {
    memset(out, 0, sizeof(*out));
    FILE *file = fopen(path, "rb");
    if (!file) {
        set_error(error, "cannot open the file");
        return 1;
    }
    unsigned char signature[8];
    if (fread(signature, 1, 8, file) != 8 || png_sig_cmp(signature, 0, 8) != 0) {
        fclose(file);
        set_error(error, "not a PNG file");
        return 1;
    }
    png_failure failure;
    failure.error = error;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, png_report_error, png_ignore_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        set_error(error, "out of memory");
        return 1;
    }
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    volatile int status = 1;
    if (setjmp(failure.jump)) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        return status;
    }
    png_set_read_fn(png, file, png_read_from_file);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    if (width == 0 || height == 0) png_error(png, "the image has no pixels");
    if (exceeds_pixel_limit(width, height, max_pixels, out, error)) {
        status = FCN_IMAGE_TOO_LARGE;
        longjmp(failure.jump, 1);
    }
    png_set_strip_16(png);
    png_set_packing(png);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t stride = (size_t)width * (size_t)channels;
    pixels = malloc(stride * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + y * stride;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    out->pixels = pixels;
    out->width = (int)width;
    out->height = (int)height;
    out->channels = channels;
    return 0;
}

int fcn_encode_png(const char *path, const unsigned char *pixels, int width, int height, int channels, char *error) {
    static const int color_types[] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    if (channels < 1 || channels > 4 || width <= 0 || height <= 0) {
        set_error(error, "invalid image dimensions");
        return 1;
    }
    FILE *file = fopen(path, "wb");
    if (!file) {
        set_error(error, "cannot create the file");
        return 1;
    }
    png_failure failure;
    failure.error = error;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, png_report_error, png_ignore_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        fclose(file);
        set_error(error, "out of memory");
        return 1;
    }
    if (setjmp(failure.jump)) {
        png_destroy_write_struct(&png, &info);
        fclose(file);
        return 1;
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * width * channels));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(file) != 0) {
        set_error(error, "cannot finish writing the file");
        return 1;
    }
    return 0;
}

// MARK: - JPEG

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char *error;
} jpeg_failure;

static void jpeg_report_error(j_common_ptr info) {
    jpeg_failure *failure = (jpeg_failure *)info->err;
    char message[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, message);
    set_error(failure->error, message);
    longjmp(failure->jump, 1);
}

// Counts warnings (level −1: corrupt or truncated data) without printing anything.
static void jpeg_count_warning(j_common_ptr info, int level) {
    if (level < 0) info->err->num_warnings++;
}

int fcn_decode_jpeg(const char *path, long long max_pixels, fcn_image *out, char *error) {
    memset(out, 0, sizeof(*out));
    FILE *file = fopen(path, "rb");
    if (!file) {
        set_error(error, "cannot open the file");
        return 1;
    }
    struct jpeg_decompress_struct info;
    jpeg_failure failure;
    failure.error = error;
    info.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_report_error;
    failure.manager.emit_message = jpeg_count_warning;
    unsigned char *volatile pixels = NULL;
    volatile int status = 1;
    if (setjmp(failure.jump)) {
        free(pixels);
        jpeg_destroy_decompress(&info);
        fclose(file);
        return status;
    }
    jpeg_create_decompress(&info);
    jpeg_stdio_src(&info, file);
    jpeg_read_header(&info, TRUE);
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        set_error(error, "CMYK JPEG images are not supported; convert to RGB");
        longjmp(failure.jump, 1);
    }
    info.out_color_space = info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&info);
    if (exceeds_pixel_limit(info.output_width, info.output_height, max_pixels, out, error)) {
        status = FCN_IMAGE_TOO_LARGE;
        longjmp(failure.jump, 1);
    }
    size_t stride = (size_t)info.output_width * (size_t)info.output_components;
    pixels = malloc(stride * info.output_height);
    if (!pixels) {
        set_error(error, "out of memory");
        longjmp(failure.jump, 1);
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + (size_t)info.output_scanline * stride;
        jpeg_read_scanlines(&info, &row, 1);
    }
    // A file that ends early gets a warning, not an error, from libjpeg; treat it as damage.
    if (failure.manager.num_warnings > 0) {
        set_error(error, "the JPEG data is truncated or corrupt");
        longjmp(failure.jump, 1);
    }
    jpeg_finish_decompress(&info);
    out->pixels = pixels;
    out->width = (int)info.output_width;
    out->height = (int)info.output_height;
    out->channels = info.output_components;
    jpeg_destroy_decompress(&info);
    fclose(file);
    return 0;
}

void fcn_image_free(fcn_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
