// A hand-written recursive-descent parser for PQL, following FeatureBase's
// pql/pql.peg (and the value conversions of pql/ast.go).
//
// Grammar (whitespace = space, tab, CR, LF, allowed between any two tokens):
//   query     = { call }
//   call      = NAME "(" [ lead ] { item "," } [ "," ] ")"
//   lead      = field-name              (TopN TopK Percentile Rows Min Max
//             | "field=" field-name      Sum MinRow MaxRow -> "_field")
//             | digits | quoted-string   (Set Clear, followed by "," -> "_col")
//   item      = call                                  (a child)
//             | key "=" value                         (plain argument)
//             | key op value                          (op: == != < <= > >= ><)
//             | bound ("<"|"<=") key ("<"|"<=") bound (kBetween*)
//             | timestamp                             (Set: last, "_timestamp";
//                                                      Range: "from", "to")
//   value     = scalar | "[" [ scalar { "," scalar } ] "]"
//   scalar    = null | true | false | number | timestamp | quoted-string
//             | call | bare-word
//
// As in FeatureBase: a duplicate key is an error; a key starting with '_' is
// accepted only where pql/ast.go's call prototypes list it (_field on TopN,
// TopK, Percentile, Rows, Min, Max, Sum, MinRow, MaxRow, InnerUnionRows, Sort;
// _col on Set, Clear, SetBit; _timestamp on Set); lists hold scalars and
// calls, not lists; `f >< [lo, hi]` means lo <= f <= hi; chained comparisons
// only use < and <=; Set/Clear without a positional column fall back to the
// generic form (Set(f=1, _col=3)); call names are case-insensitive.
//
// Deliberate differences from FeatureBase:
//   - unknown call names are an error (FeatureBase accepts any name and fails
//     later in CheckCallInfo); Apply (ivy programs) is not supported;
//   - $variables are rejected with a clear error (the AST has no variables);
//   - unquoted RFC3339 timestamps (2017-01-02T12:34:56Z) are accepted as
//     values; FeatureBase's PEG only takes them quoted;
//   - null/true/false are keywords inside lists too, and `field=true` as the
//     first argument of TopN & co. stays a bool (FeatureBase's `'field='?
//     fieldExpr` turns it into _field="true");
//   - child calls and arguments may be mixed in any order, a trailing comma
//     is allowed after at least one item, whitespace is allowed before "("
//     and around "field=" in the positional-field form, `[]` is an empty list;
//   - MinRow/MaxRow take a positional field like Sum (MinRow(f));
//   - integers above INT64_MAX (up to UINT64_MAX) are kept as kUint, decimals
//     keep trailing zeros ("12.340" is {12340, 3}), short timestamps are
//     range-checked (month, day, hour, minute) at parse time.
#include "lib/pql/parser.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "fmt/format.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal::pql {
namespace {

// FeatureBase's callInfoByFunc keys (pql/ast.go) minus Apply.
constexpr std::string_view kCallNames[] = {
    "All",
    "Arrow",
    "Bitmap",
    "Clear",
    "ClearRow",
    "Condition",
    "ConstRow",
    "Count",
    "Delete",
    "Difference",
    "Distinct",
    "Extract",
    "ExternalLookup",
    "FieldValue",
    "GroupBy",
    "IncludesColumn",
    "InnerUnionRows",
    "Intersect",
    "Limit",
    "Max",
    "MaxRow",
    "Min",
    "MinRow",
    "Not",
    "Options",
    "Percentile",
    "Precomputed",
    "Range",
    "Row",
    "Rows",
    "Set",
    "SetBit",
    "Shift",
    "Sort",
    "Store",
    "Sum",
    "TopK",
    "TopN",
    "Union",
    "UnionRows",
    "Xor",
};

// Calls whose first argument may be a bare field name (-> "_field").
bool TakesPositionalField(std::string_view name) {
  return name == "TopN" || name == "TopK" || name == "Percentile" ||
         name == "Rows" || name == "Min" || name == "Max" || name == "Sum" ||
         name == "MinRow" || name == "MaxRow";
}

// FeatureBase's CheckCallInfo accepts a key starting with '_' only where the
// call's prototypes list it.
bool ReservedAllowed(std::string_view call, std::string_view key) {
  if (key == "_field") {
    return TakesPositionalField(call) || call == "InnerUnionRows" ||
           call == "Sort";
  }
  if (key == "_col")
    return call == "Set" || call == "Clear" || call == "SetBit";
  if (key == "_timestamp") return call == "Set";
  return false;
}

bool IsDigit(int c) { return c >= '0' && c <= '9'; }
bool IsAlpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsSpace(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

// Longest piece of user text quoted in a message.
constexpr size_t kMaxSnippet = 64;

std::string Snippet(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMaxSnippet; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (s.size() > kMaxSnippet) out += "...";
  return out;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

enum class TimeShape { kNone, kShort, kRfc3339 };

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<Query> ParseQuery() {
    Query query;
    SkipSpace();
    while (pos_ < text_.size()) {
      if (!IsAlpha(At(pos_))) return Expected(pos_, "a call name");
      FB_RETURN_IF_ERROR(ParseCall(query.calls.emplace_back()));
      SkipSpace();
    }
    return query;
  }

 private:
  enum class Kind { kGeneric, kPositionalField, kSetClear, kRange };
  // Keys of one call's arguments (views into the text or literals).
  using Keys = absl::flat_hash_set<std::string_view>;

  // The byte at i, or -1 past the end (so a NUL byte is never "the end").
  int At(size_t i) const {
    return i < text_.size() ? static_cast<unsigned char>(text_[i]) : -1;
  }
  bool IsTheta(size_t i) const { return At(i) == 0xCE && At(i + 1) == 0x98; }
  size_t SpaceEnd(size_t i) const {
    while (IsSpace(At(i))) ++i;
    return i;
  }
  void SkipSpace() { pos_ = SpaceEnd(pos_); }

  // IDENT: a letter, then letters, digits or 'Θ'.
  size_t IdentEnd(size_t i) const {
    ++i;
    for (;;) {
      if (IsAlpha(At(i)) || IsDigit(At(i))) {
        ++i;
      } else if (IsTheta(i)) {
        i += 2;
      } else {
        return i;
      }
    }
  }
  // fieldExpr: a letter or '_', then letters, digits, '_', '-' or 'Θ'.
  size_t FieldEnd(size_t i) const {
    ++i;
    for (;;) {
      int c = At(i);
      if (IsAlpha(c) || IsDigit(c) || c == '_' || c == '-') {
        ++i;
      } else if (IsTheta(i)) {
        i += 2;
      } else {
        return i;
      }
    }
  }
  bool IsFieldStart(size_t i) const { return IsAlpha(At(i)) || At(i) == '_'; }
  // Bytes of a bare word at i ([A-Za-z0-9_:-] or 'Θ'), 0 if none.
  size_t BareCharLen(size_t i) const {
    int c = At(i);
    if (IsAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == ':') return 1;
    return IsTheta(i) ? 2 : 0;
  }
  size_t BareEnd(size_t i) const {
    while (size_t n = BareCharLen(i)) i += n;
    return i;
  }

  std::string Found(size_t at) const {
    if (at >= text_.size()) return "end of input";
    int c = At(at);
    if (c == '\'') return "\"'\"";
    if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", static_cast<char>(c));
    return fmt::format("byte 0x{:02x}", c);
  }

  [[gnu::noinline]] absl::Status Error(size_t at, std::string_view what) const {
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    return absl::InvalidArgumentError(
        fmt::format("parse: at offset {} (line {}, column {}): {}", at, line,
                    at - line_start + 1, what));
  }
  [[gnu::noinline]] absl::Status Expected(size_t at,
                                          std::string_view what) const {
    return Error(at, fmt::format("expected {}, found {}", what, Found(at)));
  }

  [[gnu::noinline]] absl::Status Enter(size_t at) {
    if (++depth_ > kMaxNesting) {
      return Error(at, fmt::format("nesting deeper than {}", kMaxNesting));
    }
    return absl::OkStatus();
  }

  // The functions on the recursion path (ParseCall, ParseArgs, ParseItem,
  // ParseComparison, ParseValue, ParseList) fill their output in place and
  // keep few locals: the nesting limit must fit the stack with sanitizers
  // too. Everything with bigger frames is out of line ([[gnu::noinline]]).

  // call = NAME "(" ... ")", with pos_ at a letter.
  absl::Status ParseCall(Call& call) {
    size_t at = pos_;
    size_t end = IdentEnd(at);
    std::string_view name = text_.substr(at, end - at);
    pos_ = SpaceEnd(end);
    if (At(pos_) != '(') return ErrorAfterName(pos_, "'(' after", name);
    std::string_view canonical = CanonicalCallName(name);
    if (canonical.empty()) return ErrorUnknownCall(at, name);
    FB_RETURN_IF_ERROR(Enter(at));
    ++pos_;
    call.name.assign(canonical);
    call.pos = at;
    FB_RETURN_IF_ERROR(ParseArgs(call));
    --depth_;
    return absl::OkStatus();
  }

  [[gnu::noinline]] absl::Status ErrorAfterName(size_t at,
                                                std::string_view what,
                                                std::string_view name) const {
    return Expected(at, fmt::format("{} '{}'", what, Snippet(name)));
  }
  [[gnu::noinline]] absl::Status ErrorUnknownCall(size_t at,
                                                  std::string_view name) const {
    return Error(at, fmt::format("unknown call '{}'", Snippet(name)));
  }

  // Everything after "(" up to and including ")".
  absl::Status ParseArgs(Call& call) {
    Kind kind = Kind::kGeneric;
    if (TakesPositionalField(call.name)) {
      kind = Kind::kPositionalField;
    } else if (call.name == "Set" || call.name == "Clear") {
      kind = Kind::kSetClear;
    } else if (call.name == "Range") {
      kind = Kind::kRange;
    }
    Keys keys;
    SkipSpace();
    if (At(pos_) == ')') {
      ++pos_;
      return absl::OkStatus();
    }
    bool col_positional = false;
    bool have_item = false;
    if (kind == Kind::kPositionalField) {
      FB_RETURN_IF_ERROR(ParsePositionalField(call, keys, have_item));
    } else if (kind == Kind::kSetClear) {
      FB_RETURN_IF_ERROR(ParsePositionalColumn(call, keys, have_item));
      col_positional = have_item;
    }
    int range_positionals = 0;
    for (;;) {
      if (!have_item) {
        bool closed = false;
        FB_RETURN_IF_ERROR(ParseItem(call, kind, col_positional,
                                     range_positionals, keys, closed));
        if (closed) return absl::OkStatus();
      }
      have_item = false;
      SkipSpace();
      if (At(pos_) == ')') {
        ++pos_;
        return absl::OkStatus();
      }
      if (At(pos_) != ',') {
        return Expected(pos_, "')' or ',' after an argument");
      }
      ++pos_;
      SkipSpace();
      if (At(pos_) == ')') {  // a trailing comma
        ++pos_;
        return absl::OkStatus();
      }
    }
  }

  // Rejects a reserved key where FeatureBase does not allow it, and a
  // duplicate key; records the key.
  [[gnu::noinline]] absl::Status CheckKey(const Call& call,
                                          std::string_view key, size_t at,
                                          Keys& keys) const {
    if (!key.empty() && key[0] == '_' && !ReservedAllowed(call.name, key)) {
      return Error(at, fmt::format("reserved argument '{}' not allowed in {}",
                                   Snippet(key), call.name));
    }
    if (!keys.insert(key).second) {
      return Error(at, fmt::format("duplicate argument '{}'", Snippet(key)));
    }
    return absl::OkStatus();
  }

  // Appends an argument whose key passed CheckKey; returns its value.
  static Value& NewArg(Call& call, std::string_view key, size_t at) {
    Arg& arg = call.args.emplace_back();
    arg.key.assign(key);
    arg.pos = at;
    return arg.value;
  }

  [[gnu::noinline]] absl::Status AddArg(Call& call, std::string_view key,
                                        Value value, size_t at,
                                        Keys& keys) const {
    FB_RETURN_IF_ERROR(CheckKey(call, key, at, keys));
    NewArg(call, key, at) = std::move(value);
    return absl::OkStatus();
  }

  // TopN(f, ...), TopN(field=f, ...): a field name followed by ',' or ')'.
  [[gnu::noinline]] absl::Status ParsePositionalField(Call& call, Keys& keys,
                                                      bool& found) {
    found = false;
    size_t at = pos_;
    if (!IsFieldStart(at)) return absl::OkStatus();
    size_t end = FieldEnd(at);
    size_t name_at = at;
    if (text_.substr(at, end - at) == "field") {
      size_t eq = SpaceEnd(end);
      if (At(eq) == '=' && At(eq + 1) != '=') {
        size_t v = SpaceEnd(eq + 1);
        if (!IsFieldStart(v)) return absl::OkStatus();
        size_t v_end = FieldEnd(v);
        std::string_view word = text_.substr(v, v_end - v);
        if (word == "null" || word == "true" || word == "false") {
          return absl::OkStatus();
        }
        name_at = v;
        end = v_end;
      }
    }
    size_t next = SpaceEnd(end);
    if (At(next) != ',' && At(next) != ')') return absl::OkStatus();
    Value value;
    value.kind = Value::Kind::kString;
    value.s = std::string(text_.substr(name_at, end - name_at));
    value.pos = name_at;
    FB_RETURN_IF_ERROR(AddArg(call, "_field", std::move(value), at, keys));
    pos_ = end;
    found = true;
    return absl::OkStatus();
  }

  // Set(10, ...), Clear("key", ...): digits or a quoted string, then ','.
  [[gnu::noinline]] absl::Status ParsePositionalColumn(Call& call, Keys& keys,
                                                       bool& found) {
    found = false;
    size_t at = pos_;
    int c = At(at);
    Value value;
    if (IsDigit(c)) {
      size_t end = at;
      while (IsDigit(At(end))) ++end;
      if (At(SpaceEnd(end)) != ',') return absl::OkStatus();
      FB_RETURN_IF_ERROR(ParseNumberOrTimestamp(value));
    } else if (c == '"' || c == '\'') {
      FB_RETURN_IF_ERROR(ParseQuoted(value.s));
      if (At(SpaceEnd(pos_)) != ',') {
        pos_ = at;  // not a column: the argument loop reports it
        return absl::OkStatus();
      }
      value.kind = Value::Kind::kString;
      value.pos = at;
    } else {
      return absl::OkStatus();
    }
    FB_RETURN_IF_ERROR(AddArg(call, "_col", std::move(value), at, keys));
    found = true;
    return absl::OkStatus();
  }

  // One child call or argument. Sets `closed` when it also consumed the
  // closing ")" (Set's positional timestamp must be last).
  absl::Status ParseItem(Call& call, Kind kind, bool col_positional,
                         int& range_positionals, Keys& keys, bool& closed) {
    size_t at = pos_;
    int c = At(at);
    if (IsAlpha(c) && At(SpaceEnd(IdentEnd(at))) == '(') {
      return ParseCall(call.children.emplace_back());
    }
    if (IsFieldStart(at)) {
      size_t end = FieldEnd(at);
      std::string_view key = text_.substr(at, end - at);
      size_t op_at = SpaceEnd(end);
      if (At(op_at) == '=' && At(op_at + 1) != '=') {
        FB_RETURN_IF_ERROR(CheckKey(call, key, at, keys));
        pos_ = SpaceEnd(op_at + 1);
        return ParseValue(NewArg(call, key, at), /*allow_list=*/true);
      }
      return ParseComparison(call, key, at, op_at, keys);
    }
    if (c == '$') return Error(at, "variables ($name) are not supported");
    if (!(IsDigit(c) || c == '-' || c == '.' || c == '"' || c == '\'')) {
      return Expected(at, "a call or an argument");
    }
    return ParseBoundOrTimestamp(call, kind, col_positional, range_positionals,
                                 keys, closed);
  }

  // key op value, with pos_ at the key and op_at at the operator.
  absl::Status ParseComparison(Call& call, std::string_view key, size_t at,
                               size_t op_at, Keys& keys) {
    size_t op_len = 0;
    Op op = MatchOp(op_at, op_len);
    if (op_len == 0) {
      return ErrorAfterName(op_at, "'=' or a comparison after", key);
    }
    FB_RETURN_IF_ERROR(CheckKey(call, key, at, keys));
    pos_ = SpaceEnd(op_at + op_len);
    size_t value_at = pos_;
    Value& value = NewArg(call, key, at);
    value.kind = Value::Kind::kCondition;
    value.pos = op_at;
    value.cond = std::make_shared<Condition>();
    value.cond->op = op;
    FB_RETURN_IF_ERROR(ParseValue(value.cond->value, /*allow_list=*/true));
    if (op == Op::kBetweenLteLte) return SplitBetween(*value.cond, value_at);
    return absl::OkStatus();
  }

  // f >< [lo, hi]: the parsed list becomes value and value2.
  [[gnu::noinline]] absl::Status SplitBetween(Condition& cond,
                                              size_t value_at) const {
    if (cond.value.kind != Value::Kind::kList || cond.value.list.size() != 2) {
      return Error(value_at, "'><' needs a list of two values");
    }
    Value list = std::move(cond.value);
    cond.value = std::move(list.list[0]);
    cond.value2 = std::move(list.list[1]);
    return absl::OkStatus();
  }

  // An item starting like a number, timestamp or quoted string: the lower
  // bound of a chained comparison, or a positional timestamp.
  [[gnu::noinline]] absl::Status ParseBoundOrTimestamp(Call& call, Kind kind,
                                                       bool col_positional,
                                                       int& range_positionals,
                                                       Keys& keys,
                                                       bool& closed) {
    size_t at = pos_;
    int c = At(at);
    Value bound;
    FB_RETURN_IF_ERROR(ParseScalar(bound));
    size_t op_at = SpaceEnd(pos_);
    if (At(op_at) == '<') {
      if (!IsBound(bound)) {
        return Error(at,
                     "expected a number or timestamp as the lower bound "
                     "of a range comparison");
      }
      return ParseChained(call, std::move(bound), at, op_at, keys);
    }
    if (At(op_at) == '>') {
      return Expected(op_at, "'<' or '<=' in a range comparison");
    }
    bool is_time = bound.kind == Value::Kind::kTimestamp;
    if (!is_time && bound.kind == Value::Kind::kString &&
        (c == '"' || c == '\'') && Shape(bound.s, 0) == TimeShape::kShort &&
        bound.s.size() == 16) {
      // A quoted short timestamp: FeatureBase's timefmt takes it as well.
      FB_RETURN_IF_ERROR(CheckTimestamp(bound.s, at));
      bound.kind = Value::Kind::kTimestamp;
      is_time = true;
    }
    if (is_time && kind == Kind::kSetClear && call.name == "Set" &&
        col_positional && call.args.size() >= 2) {
      FB_RETURN_IF_ERROR(
          AddArg(call, "_timestamp", std::move(bound), at, keys));
      pos_ = op_at;
      if (At(pos_) != ')') return Expected(pos_, "')' after the timestamp");
      ++pos_;
      closed = true;
      return absl::OkStatus();
    }
    if (is_time && kind == Kind::kRange && range_positionals < 2 &&
        !call.args.empty()) {
      std::string_view key = range_positionals++ == 0 ? "from" : "to";
      return AddArg(call, key, std::move(bound), at, keys);
    }
    return Expected(at, "a call or an argument");
  }

  static bool IsBound(const Value& v) {
    return v.kind == Value::Kind::kInt || v.kind == Value::Kind::kUint ||
           v.kind == Value::Kind::kDecimal || v.kind == Value::Kind::kTimestamp;
  }

  // lo <[=] key <[=] hi, with the lower bound parsed and op_at at the first
  // '<'. Bounds are scalars, so this does not recurse.
  [[gnu::noinline]] absl::Status ParseChained(Call& call, Value lo, size_t at,
                                              size_t op_at, Keys& keys) {
    bool lo_inclusive = At(op_at + 1) == '=';
    pos_ = SpaceEnd(op_at + (lo_inclusive ? 2 : 1));
    size_t key_at = pos_;
    if (At(key_at) == '$') {
      return Error(key_at, "variables ($name) are not supported");
    }
    if (!IsFieldStart(key_at)) {
      return Expected(key_at, "a field name in a range comparison");
    }
    size_t key_end = FieldEnd(key_at);
    std::string_view key = text_.substr(key_at, key_end - key_at);
    pos_ = SpaceEnd(key_end);
    if (At(pos_) != '<') {
      return Expected(pos_, fmt::format("'<' or '<=' after '{}' in a range "
                                        "comparison",
                                        Snippet(key)));
    }
    bool hi_inclusive = At(pos_ + 1) == '=';
    pos_ = SpaceEnd(pos_ + (hi_inclusive ? 2 : 1));
    size_t hi_at = pos_;
    int c = At(hi_at);
    if (!(IsDigit(c) || c == '-' || c == '.' || c == '"' || c == '\'')) {
      return Expected(hi_at, "a number or timestamp as the upper bound");
    }
    Value hi;
    FB_RETURN_IF_ERROR(ParseScalar(hi));
    if (!IsBound(hi)) {
      return Error(hi_at,
                   "expected a number or timestamp as the upper bound "
                   "of a range comparison");
    }
    Value value;
    value.kind = Value::Kind::kCondition;
    value.cond = std::make_shared<Condition>();
    value.cond->op =
        lo_inclusive ? (hi_inclusive ? Op::kBetweenLteLte : Op::kBetweenLteLt)
                     : (hi_inclusive ? Op::kBetweenLtLte : Op::kBetweenLtLt);
    value.cond->value = std::move(lo);
    value.cond->value2 = std::move(hi);
    value.pos = at;
    return AddArg(call, key, std::move(value), at, keys);
  }

  // A comparison operator at i; len = 0 when there is none.
  Op MatchOp(size_t i, size_t& len) const {
    int c = At(i), d = At(i + 1);
    len = 2;
    if (c == '>' && d == '<') return Op::kBetweenLteLte;
    if (c == '<' && d == '=') return Op::kLte;
    if (c == '>' && d == '=') return Op::kGte;
    if (c == '=' && d == '=') return Op::kEq;
    if (c == '!' && d == '=') return Op::kNeq;
    len = 1;
    if (c == '<') return Op::kLt;
    if (c == '>') return Op::kGt;
    len = 0;
    return Op::kEq;
  }

  absl::Status ParseValue(Value& value, bool allow_list) {
    size_t at = pos_;
    int c = At(at);
    value.pos = at;
    if (c == '[') {
      if (!allow_list) return Error(at, "nested lists are not supported");
      return ParseList(value);
    }
    if (IsAlpha(c) && At(SpaceEnd(IdentEnd(at))) == '(') {
      value.kind = Value::Kind::kCall;
      value.call = std::make_shared<Call>();
      return ParseCall(*value.call);
    }
    return ParseScalar(value);
  }

  absl::Status ParseList(Value& value) {
    size_t at = pos_;
    FB_RETURN_IF_ERROR(Enter(at));
    value.kind = Value::Kind::kList;
    pos_ = SpaceEnd(at + 1);
    if (At(pos_) != ']') {
      for (;;) {
        FB_RETURN_IF_ERROR(
            ParseValue(value.list.emplace_back(), /*allow_list=*/false));
        SkipSpace();
        if (At(pos_) == ']') break;
        if (At(pos_) != ',') return Expected(pos_, "']' or ',' in a list");
        pos_ = SpaceEnd(pos_ + 1);
      }
    }
    ++pos_;
    --depth_;
    return absl::OkStatus();
  }

  // Any value but a list or a call: quoted string, number, timestamp,
  // null/true/false or a bare word.
  [[gnu::noinline]] absl::Status ParseScalar(Value& value) {
    size_t at = pos_;
    int c = At(at);
    value.pos = at;
    if (c == '"' || c == '\'') {
      FB_RETURN_IF_ERROR(ParseQuoted(value.s));
      if (Shape(value.s, 0) == TimeShape::kRfc3339 &&
          ShapeEnd(value.s, 0) == value.s.size()) {
        // pql/ast.go turns a quoted RFC3339 string into a time.
        FB_RETURN_IF_ERROR(CheckTimestamp(value.s, at));
        value.kind = Value::Kind::kTimestamp;
      } else {
        value.kind = Value::Kind::kString;
      }
      return absl::OkStatus();
    }
    if (c == '$') return Error(at, "variables ($name) are not supported");
    if (IsDigit(c) || c == '.' ||
        (c == '-' && (IsDigit(At(at + 1)) || At(at + 1) == '.'))) {
      return ParseNumberOrTimestamp(value);
    }
    size_t end = BareEnd(at);
    if (end == at) return Expected(at, "a value");
    std::string_view word = text_.substr(at, end - at);
    pos_ = end;
    if (word == "null") {
      value.kind = Value::Kind::kNull;
    } else if (word == "true" || word == "false") {
      value.kind = Value::Kind::kBool;
      value.b = word == "true";
    } else {
      value.kind = Value::Kind::kString;
      value.s = std::string(word);
    }
    return absl::OkStatus();
  }

  // A quoted string at pos_ ('...' or "..."), escapes resolved.
  [[gnu::noinline]] absl::Status ParseQuoted(std::string& out) {
    size_t at = pos_;
    int quote = At(at);
    out.clear();
    size_t i = at + 1;
    for (;;) {
      int c = At(i);
      if (c < 0) return Error(at, "unterminated string");
      if (c == quote) break;
      if (c != '\\') {
        // Copy the run up to the next quote or backslash in one go.
        size_t j = i + 1;
        while (j < text_.size() && At(j) != quote && At(j) != '\\') ++j;
        out.append(text_.substr(i, j - i));
        i = j;
        continue;
      }
      switch (At(i + 1)) {
        case '\\':
          out += '\\';
          break;
        case '"':
          out += '"';
          break;
        case '\'':
          out += '\'';
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case -1:
          return Error(at, "unterminated string");
        default:
          return Expected(i + 1,
                          "an escape (\\\\ \\\" \\' \\n \\t) after '\\'");
      }
      i += 2;
    }
    pos_ = i + 1;
    return absl::OkStatus();
  }

  // Matches the timestamp shapes of pql.peg at s[i]: timebasicfmt
  // (2006-01-02T15:04) or iso8601[nano] (with :05[.999] and Z or ±07:00).
  static TimeShape Shape(std::string_view s, size_t i) {
    size_t end = 0;
    return ShapeAndEnd(s, i, end);
  }
  static size_t ShapeEnd(std::string_view s, size_t i) {
    size_t end = i;
    ShapeAndEnd(s, i, end);
    return end;
  }
  static TimeShape ShapeAndEnd(std::string_view s, size_t i, size_t& end) {
    auto at = [&](size_t k) -> int {
      return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : -1;
    };
    auto digits = [&](size_t k, size_t n) {
      for (size_t d = 0; d < n; ++d) {
        if (!IsDigit(at(k + d))) return false;
      }
      return true;
    };
    if (!(digits(0, 4) && at(4) == '-' && digits(5, 2) && at(7) == '-' &&
          digits(8, 2) && at(10) == 'T' && digits(11, 2) && at(13) == ':' &&
          digits(14, 2))) {
      return TimeShape::kNone;
    }
    end = i + 16;
    if (!(at(16) == ':' && digits(17, 2))) return TimeShape::kShort;
    size_t k = 19;
    if (at(k) == '.' && IsDigit(at(k + 1))) {
      ++k;
      while (IsDigit(at(k))) ++k;
    }
    if (at(k) == 'Z') {
      end = i + k + 1;
      return TimeShape::kRfc3339;
    }
    if ((at(k) == '+' || at(k) == '-') && digits(k + 1, 2) &&
        at(k + 3) == ':' && digits(k + 4, 2)) {
      end = i + k + 6;
      return TimeShape::kRfc3339;
    }
    return TimeShape::kShort;  // seconds without a zone: only the short prefix
  }

  // Range checks of a timestamp whose shape matched.
  absl::Status CheckTimestamp(std::string_view s, size_t at) const {
    auto num = [&](size_t k, size_t n) {
      int v = 0;
      for (size_t d = 0; d < n; ++d) v = v * 10 + (s[k + d] - '0');
      return v;
    };
    int year = num(0, 4), month = num(5, 2), day = num(8, 2);
    int hour = num(11, 2), minute = num(14, 2);
    bool ok = month >= 1 && month <= 12 && day >= 1 &&
              day <= DaysInMonth(year, month) && hour <= 23 && minute <= 59;
    if (ok && s.size() > 16) {
      ok = num(17, 2) <= 59;
      size_t k = s.find_first_of("Z+-", 19);
      if (ok && k != std::string_view::npos && s[k] != 'Z') {
        ok = num(k + 1, 2) <= 23 && num(k + 4, 2) <= 59;
      }
    }
    if (!ok) {
      return Error(at, fmt::format("invalid timestamp: {}", Snippet(s)));
    }
    return absl::OkStatus();
  }

  // A number (integer or decimal) or an unquoted timestamp at pos_.
  [[gnu::noinline]] absl::Status ParseNumberOrTimestamp(Value& value) {
    size_t at = pos_;
    value.pos = at;
    if (IsDigit(At(at))) {
      size_t end = at;
      TimeShape shape = ShapeAndEnd(text_, at, end);
      if (shape != TimeShape::kNone && BareCharLen(end) == 0 &&
          At(end) != '.') {
        std::string_view s = text_.substr(at, end - at);
        FB_RETURN_IF_ERROR(CheckTimestamp(s, at));
        value.kind = Value::Kind::kTimestamp;
        value.s = std::string(s);
        pos_ = end;
        return absl::OkStatus();
      }
    }
    size_t i = at;
    bool negative = At(i) == '-';
    if (negative) ++i;
    size_t int_start = i;
    while (IsDigit(At(i))) ++i;
    size_t int_digits = i - int_start;
    bool has_dot = At(i) == '.';
    size_t frac_digits = 0;
    if (has_dot) {
      ++i;
      size_t frac_start = i;
      while (IsDigit(At(i))) ++i;
      frac_digits = i - frac_start;
    }
    if ((int_digits == 0 && frac_digits == 0) || BareCharLen(i) != 0 ||
        At(i) == '.') {
      // Report the whole word, up to the next separator.
      size_t end = i;
      for (;;) {
        size_t n = At(end) == '.' ? 1 : BareCharLen(end);
        if (n == 0) break;
        end += n;
      }
      return Error(at, fmt::format("invalid number or timestamp: {}",
                                   Snippet(text_.substr(at, end - at))));
    }
    std::string_view token = text_.substr(at, i - at);
    pos_ = i;
    // The magnitude of all digits, ignoring the point.
    uint64_t mag = 0;
    bool overflow = false;
    for (size_t k = negative ? 1 : 0; k < token.size(); ++k) {
      if (token[k] == '.') continue;
      unsigned d = static_cast<unsigned>(token[k] - '0');
      if (mag > (UINT64_MAX - d) / 10) {
        overflow = true;
        break;
      }
      mag = mag * 10 + d;
    }
    constexpr uint64_t kMinMagnitude = uint64_t{1} << 63;  // |INT64_MIN|
    if (has_dot) {
      if (overflow || (negative ? mag > kMinMagnitude : mag > INT64_MAX) ||
          frac_digits > kMaxDecimalScale) {
        return Error(
            at, fmt::format(
                    "decimal {} overflows (unscaled digits in [{}, {}], "
                    "at most {} decimal places)",
                    Snippet(token), INT64_MIN, INT64_MAX, kMaxDecimalScale));
      }
      value.kind = Value::Kind::kDecimal;
      value.d.unscaled =
          negative ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
      value.d.scale = static_cast<int>(frac_digits);
      return absl::OkStatus();
    }
    if (overflow || (negative && mag > kMinMagnitude)) {
      return Error(at, fmt::format("integer out of range: {}", Snippet(token)));
    }
    if (negative) {
      value.kind = Value::Kind::kInt;
      value.i = static_cast<int64_t>(0 - mag);
    } else if (mag > INT64_MAX) {
      value.kind = Value::Kind::kUint;
      value.u = mag;
    } else {
      value.kind = Value::Kind::kInt;
      value.i = static_cast<int64_t>(mag);
    }
    return absl::OkStatus();
  }

  // Decimal literals with more fractional digits are rejected.
  static constexpr size_t kMaxDecimalScale = 1000;

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::string_view CanonicalCallName(std::string_view name) {
  for (std::string_view canonical : kCallNames) {
    if (canonical.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) {
      same = Lower(canonical[i]) == Lower(name[i]);
    }
    if (same) return canonical;
  }
  return {};
}

absl::StatusOr<Query> Parse(std::string_view text) {
  return Parser(text).ParseQuery();
}

}  // namespace featurebase::internal::pql
