#include "lib/pql/printer.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "fmt/format.h"

namespace featurebase::internal::pql {
namespace {

bool TakesPositionalField(std::string_view name) {
  return name == "TopN" || name == "TopK" || name == "Percentile" ||
         name == "Rows" || name == "Min" || name == "Max" || name == "Sum" ||
         name == "MinRow" || name == "MaxRow";
}

bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Whether s is a field name the parser reads back bare (pql.peg fieldExpr).
bool IsFieldName(std::string_view s) {
  if (s.empty() || !(IsAlpha(s[0]) || s[0] == '_')) return false;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (IsAlpha(c) || IsDigit(c) || c == '_' || c == '-') continue;
    if (static_cast<unsigned char>(c) == 0xCE && i + 1 < s.size() &&
        static_cast<unsigned char>(s[i + 1]) == 0x98) {
      ++i;
      continue;
    }
    return false;
  }
  return true;
}

bool IsBound(const Value& v) {
  return v.kind == Value::Kind::kInt || v.kind == Value::Kind::kUint ||
         v.kind == Value::Kind::kDecimal || v.kind == Value::Kind::kTimestamp;
}

bool IsBetween(Op op) {
  return op == Op::kBetweenLtLt || op == Op::kBetweenLteLt ||
         op == Op::kBetweenLtLte || op == Op::kBetweenLteLte;
}

std::string_view OpText(Op op) {
  switch (op) {
    case Op::kEq:
      return "==";
    case Op::kNeq:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLte:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGte:
      return ">=";
    default:
      return "><";
  }
}

void AppendDecimal(const Decimal& d, std::string& out) {
  uint64_t mag = d.unscaled < 0 ? 0 - static_cast<uint64_t>(d.unscaled)
                                : static_cast<uint64_t>(d.unscaled);
  std::string digits = fmt::format("{}", mag);
  if (d.unscaled < 0) out += '-';
  if (d.scale <= 0) {
    out += digits;
    out.append(static_cast<size_t>(-static_cast<int64_t>(d.scale)), '0');
    out += '.';
    return;
  }
  size_t scale = static_cast<size_t>(d.scale);
  if (digits.size() <= scale) {
    digits.insert(0, scale + 1 - digits.size(), '0');
  }
  out.append(digits, 0, digits.size() - scale);
  out += '.';
  out.append(digits, digits.size() - scale, scale);
}

void AppendString(std::string_view s, std::string& out) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  out += '"';
}

void AppendCall(const Call& call, std::string& out);

void AppendValue(const Value& v, std::string& out) {
  switch (v.kind) {
    case Value::Kind::kNull:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += v.b ? "true" : "false";
      return;
    case Value::Kind::kInt:
      fmt::format_to(std::back_inserter(out), "{}", v.i);
      return;
    case Value::Kind::kUint:
      fmt::format_to(std::back_inserter(out), "{}", v.u);
      return;
    case Value::Kind::kDecimal:
      AppendDecimal(v.d, out);
      return;
    case Value::Kind::kString:
      AppendString(v.s, out);
      return;
    case Value::Kind::kTimestamp:
      out += v.s;
      return;
    case Value::Kind::kList:
      out += '[';
      for (size_t i = 0; i < v.list.size(); ++i) {
        if (i > 0) out += ", ";
        AppendValue(v.list[i], out);
      }
      out += ']';
      return;
    case Value::Kind::kCall:
      if (v.call) {
        AppendCall(*v.call, out);
      } else {
        out += "null";
      }
      return;
    case Value::Kind::kCondition:
      // A condition only has a text form as an argument (key op value).
      out += "null";
      return;
  }
}

void AppendArg(const Arg& arg, std::string& out) {
  if (arg.value.kind != Value::Kind::kCondition || !arg.value.cond) {
    out += arg.key;
    out += '=';
    AppendValue(arg.value, out);
    return;
  }
  const Condition& c = *arg.value.cond;
  if (!IsBetween(c.op)) {
    out += arg.key;
    out += ' ';
    out += OpText(c.op);
    out += ' ';
    AppendValue(c.value, out);
    return;
  }
  if (c.op == Op::kBetweenLteLte && !(IsBound(c.value) && IsBound(c.value2))) {
    out += arg.key;
    out += " >< [";
    AppendValue(c.value, out);
    out += ", ";
    AppendValue(c.value2, out);
    out += ']';
    return;
  }
  bool lo_inclusive = c.op == Op::kBetweenLteLt || c.op == Op::kBetweenLteLte;
  bool hi_inclusive = c.op == Op::kBetweenLtLte || c.op == Op::kBetweenLteLte;
  AppendValue(c.value, out);
  out += lo_inclusive ? " <= " : " < ";
  out += arg.key;
  out += hi_inclusive ? " <= " : " < ";
  AppendValue(c.value2, out);
}

void AppendCall(const Call& call, std::string& out) {
  out += call.name;
  out += '(';
  size_t begin = 0, end = call.args.size();
  bool first = true;
  auto separate = [&] {
    if (!first) out += ", ";
    first = false;
  };
  bool col_positional = false;
  if (!call.args.empty()) {
    const Arg& a = call.args[0];
    if (TakesPositionalField(call.name) && a.key == "_field" &&
        a.value.kind == Value::Kind::kString && IsFieldName(a.value.s)) {
      separate();
      out += a.value.s;
      begin = 1;
    } else if ((call.name == "Set" || call.name == "Clear") &&
               a.key == "_col" &&
               call.args.size() + call.children.size() >= 2 &&
               ((a.value.kind == Value::Kind::kInt && a.value.i >= 0) ||
                a.value.kind == Value::Kind::kUint ||
                a.value.kind == Value::Kind::kString)) {
      separate();
      AppendValue(a.value, out);
      begin = 1;
      col_positional = true;
    }
  }
  bool timestamp_positional =
      col_positional && call.name == "Set" && call.args.size() >= 3 &&
      call.args.back().key == "_timestamp" &&
      call.args.back().value.kind == Value::Kind::kTimestamp;
  if (timestamp_positional) --end;
  for (const Call& child : call.children) {
    separate();
    AppendCall(child, out);
  }
  for (size_t i = begin; i < end; ++i) {
    separate();
    AppendArg(call.args[i], out);
  }
  if (timestamp_positional) {
    separate();
    out += call.args.back().value.s;
  }
  out += ')';
}

}  // namespace

std::string Print(const Query& query) {
  std::string out;
  for (size_t i = 0; i < query.calls.size(); ++i) {
    if (i > 0) out += '\n';
    AppendCall(query.calls[i], out);
  }
  return out;
}

std::string Print(const Call& call) {
  std::string out;
  AppendCall(call, out);
  return out;
}

std::string Print(const Value& value) {
  std::string out;
  AppendValue(value, out);
  return out;
}

bool Equal(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kBool:
      return a.b == b.b;
    case Value::Kind::kInt:
      return a.i == b.i;
    case Value::Kind::kUint:
      return a.u == b.u;
    case Value::Kind::kDecimal:
      return a.d == b.d;
    case Value::Kind::kString:
    case Value::Kind::kTimestamp:
      return a.s == b.s;
    case Value::Kind::kList:
      if (a.list.size() != b.list.size()) return false;
      for (size_t i = 0; i < a.list.size(); ++i) {
        if (!Equal(a.list[i], b.list[i])) return false;
      }
      return true;
    case Value::Kind::kCall:
      if (!a.call || !b.call) return !a.call && !b.call;
      return Equal(*a.call, *b.call);
    case Value::Kind::kCondition:
      if (!a.cond || !b.cond) return !a.cond && !b.cond;
      if (a.cond->op != b.cond->op) return false;
      if (!Equal(a.cond->value, b.cond->value)) return false;
      return !IsBetween(a.cond->op) || Equal(a.cond->value2, b.cond->value2);
  }
  return false;
}

bool Equal(const Call& a, const Call& b) {
  if (a.name != b.name || a.children.size() != b.children.size() ||
      a.args.size() != b.args.size()) {
    return false;
  }
  for (size_t i = 0; i < a.children.size(); ++i) {
    if (!Equal(a.children[i], b.children[i])) return false;
  }
  for (size_t i = 0; i < a.args.size(); ++i) {
    if (a.args[i].key != b.args[i].key) return false;
    if (!Equal(a.args[i].value, b.args[i].value)) return false;
  }
  return true;
}

bool Equal(const Query& a, const Query& b) {
  if (a.calls.size() != b.calls.size()) return false;
  for (size_t i = 0; i < a.calls.size(); ++i) {
    if (!Equal(a.calls[i], b.calls[i])) return false;
  }
  return true;
}

}  // namespace featurebase::internal::pql
