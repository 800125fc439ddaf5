#include "clients/cli/import/adam_mapping.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aesignal::cli::import {
namespace {

TEST(AdamMappingTest, Placeholder) { EXPECT_EQ(SanitizeId(" a/b "), "a-b"); }

}  // namespace
}  // namespace aesignal::cli::import
