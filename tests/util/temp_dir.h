// A fresh directory under $TMPDIR for one test, removed with everything in
// it when the object goes away.
#ifndef FEATUREBASE_TESTS_UTIL_TEMP_DIR_H_
#define FEATUREBASE_TESTS_UTIL_TEMP_DIR_H_

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace featurebase::testing {

class TempDir {
 public:
  explicit TempDir(std::string_view tag) {
    std::string t = std::filesystem::temp_directory_path() /
                    (std::string("fbc-") + std::string(tag) + "-" +
                     std::to_string(::getpid()) + "-XXXXXX");
    if (::mkdtemp(t.data()) == nullptr) std::abort();
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace featurebase::testing

#endif  // FEATUREBASE_TESTS_UTIL_TEMP_DIR_H_
