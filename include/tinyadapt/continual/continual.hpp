// Continual class-incremental learning: dataset distillation (distribution
// and gradient matching, streaming), the distilled store (float32 or int8),
// random exemplars, the incremental learner and its metrics, model size
// adaption (growable layers, growth policies), the learner's growth hook and
// growth by probing.
#pragma once

#include "distill.hpp"
#include "distribution_matching.hpp"
#include "embedding.hpp"
#include "exemplars.hpp"
#include "gradient_matching.hpp"
#include "grow.hpp"
#include "growth_policy.hpp"
#include "learner.hpp"
#include "metrics.hpp"
#include "policy_hook.hpp"
#include "probe.hpp"
#include "reservoir.hpp"
#include "store.hpp"
#include "synthetic.hpp"
#include "teacher.hpp"
