// COpenSlide: Debian's libopenslide (pkg-config openslide puts its folder on the include path).
// OpenSlide reports errors through openslide_get_error, never by longjmp, so Swift calls it directly.
#include <openslide.h>
