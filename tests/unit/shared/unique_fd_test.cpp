#include "shared/unique_fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace {

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

// Two fresh descriptors; the test's owners decide who closes them.
std::pair<int, int> make_pipe() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  return {fds[0], fds[1]};
}

TEST(UniqueFd, ClosesItsDescriptorWhenDestroyed) {
  auto [r, w] = make_pipe();
  {
    ca::UniqueFd a(r);
    ca::UniqueFd b(w);
    EXPECT_TRUE(a);
    EXPECT_EQ(a.get(), r);
  }
  EXPECT_FALSE(is_open(r));
  EXPECT_FALSE(is_open(w));
}

TEST(UniqueFd, MovingHandsOverOwnershipAndClosesOnce) {
  auto [r, w] = make_pipe();
  ca::UniqueFd keep_w(w);
  ca::UniqueFd a(r);
  ca::UniqueFd b(std::move(a));
  EXPECT_FALSE(a); // NOLINT(bugprone-use-after-move): the moved-from state is the point
  EXPECT_EQ(b.get(), r);
  ca::UniqueFd c;
  c = std::move(b);
  EXPECT_TRUE(is_open(r));
  c.reset();
  EXPECT_FALSE(is_open(r));
  EXPECT_FALSE(c);
}

TEST(UniqueFd, ReleaseGivesUpWithoutClosingAndResetClosesTheOldOne) {
  auto [r, w] = make_pipe();
  int released = -1;
  {
    ca::UniqueFd a(r);
    released = a.release();
    EXPECT_FALSE(a);
  }
  EXPECT_TRUE(is_open(released));
  ca::UniqueFd b(released);
  b.reset(w);
  EXPECT_FALSE(is_open(r));
  EXPECT_TRUE(is_open(w));
}

TEST(UniqueFd, ANegativeValueIsNoDescriptor) {
  ca::UniqueFd none(-1);
  EXPECT_FALSE(none);
  EXPECT_EQ(none.get(), -1);
}

} // namespace
