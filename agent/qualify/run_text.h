// The text form of qualification runs, for people at a terminal. Pure.
#pragma once

#include <string>

#include "qualify.pb.h"

namespace kvhost::qualify {

const char* OutcomeName(v1::QualifyOutcome outcome);
std::string RunText(const v1::QualificationRun& run);
std::string HistoryText(const v1::QualificationHistory& history);

}  // namespace kvhost::qualify
