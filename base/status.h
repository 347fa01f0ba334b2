#include "fl/status.h"  // forwarder: fl::Status is the SDK's public <fl/status.h>
