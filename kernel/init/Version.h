#pragma once

#define SLUICE_VERSION "0.1.0"
