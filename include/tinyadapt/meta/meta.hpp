// TinyReptile and its baselines: device rounds, the server step, few-shot adaptation.
#pragma once
#include "adapt.hpp"
#include "adaptive_clip.hpp"
#include "device.hpp"
#include "parameters.hpp"
#include "robust.hpp"
#include "robust_wire.hpp"
#include "round.hpp"
#include "server.hpp"
