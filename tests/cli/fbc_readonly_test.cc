// fbc commands that only read open the index read-only: `fbc schema` and a
// reading `fbc query` change no byte of the data directory and work on a
// read-only mount; a writing `fbc query` still writes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Outcome {
  int code = -1;
  std::string out;
};

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FbcReadOnlyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fbc_readonly_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Data() const { return (dir_ / "data").string(); }

  // Runs fbc on the data directory; with `ro_mount` inside a mount
  // namespace where the data directory is bind-mounted read-only (the
  // shell prints "nomount" when that is impossible here).
  Outcome Fbc(const std::vector<std::string>& args, bool ro_mount = false) {
    std::string fbc = Quote(FBC_BINARY) + " --data-dir " + Quote(Data());
    for (const auto& a : args) fbc += " " + Quote(a);
    const std::string out = (dir_ / "out").string();
    std::string cmd;
    if (ro_mount) {
      const std::string inner = "mount --bind -o ro " + Quote(Data()) + " " +
                                Quote(Data()) +
                                " || { echo nomount; exit 99; }; " + fbc;
      cmd = "unshare -m sh -c " + Quote(inner);
    } else {
      cmd = fbc;
    }
    cmd += " </dev/null >" + Quote(out) + " 2>/dev/null";
    const int st = std::system(cmd.c_str());
    Outcome r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = ReadFile(out);
    return r;
  }

  // Every file under the data directory with its size, mtime and bytes.
  std::map<std::string, std::string> Fingerprint() const {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(Data())) {
      struct stat st;
      EXPECT_EQ(::lstat(e.path().c_str(), &st), 0);
      out[e.path().string()] =
          std::to_string(st.st_size) + "/" + std::to_string(st.st_mtim.tv_sec) +
          "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
          (e.is_regular_file() ? ReadFile(e.path().string()) : "");
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(FbcReadOnlyTest, ReadingCommandsChangeNothing) {
  ASSERT_EQ(Fbc({"create-index", "people"}).code, 0);
  ASSERT_EQ(Fbc({"create-field", "people", "age", "--type", "int", "--min", "0",
                 "--max", "150"})
                .code,
            0);
  ASSERT_EQ(Fbc({"create-field", "people", "likes"}).code, 0);
  // A writing query through `fbc query` still writes, and persists.
  Outcome w = Fbc({"query", "people", "Set(7, likes=3)"});
  ASSERT_EQ(w.code, 0) << w.out;
  const auto before = Fingerprint();
  for (int i = 0; i < 20; ++i) {
    Outcome q = Fbc({"query", "people", "Count(Row(likes=3))"});
    ASSERT_EQ(q.code, 0) << q.out;
    EXPECT_EQ(q.out, "{\"results\":[1]}\n");
    Outcome s = Fbc({"schema", "people"});
    ASSERT_EQ(s.code, 0) << s.out;
    EXPECT_NE(s.out.find("\"likes\""), std::string::npos) << s.out;
  }
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(FbcReadOnlyTest, ReadOnlyMountServesReads) {
  ASSERT_EQ(Fbc({"create-index", "people"}).code, 0);
  ASSERT_EQ(Fbc({"create-field", "people", "likes"}).code, 0);
  ASSERT_EQ(Fbc({"query", "people", "Set(7, likes=3)"}).code, 0);
  Outcome q = Fbc({"query", "people", "Count(Row(likes=3))"}, true);
  if (q.code == 99 && q.out == "nomount\n")
    GTEST_SKIP() << "no read-only bind mount possible here";
  EXPECT_EQ(q.code, 0) << q.out;
  EXPECT_EQ(q.out, "{\"results\":[1]}\n");
  Outcome s = Fbc({"schema"}, true);
  EXPECT_EQ(s.code, 0) << s.out;
  EXPECT_NE(s.out.find("\"people\""), std::string::npos) << s.out;
  // A write on the read-only mount fails with an error, not a crash.
  Outcome w = Fbc({"query", "people", "Set(8, likes=3)"}, true);
  EXPECT_EQ(w.code, 1) << w.out;
  EXPECT_NE(w.out.find("error"), std::string::npos) << w.out;
}

}  // namespace
