#include "json.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace mlxts {

namespace {

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  Json parse_document() {
    Json v = value();
    ws();
    if (i_ != s_.size()) error("trailing characters");
    return v;
  }

 private:
  const std::string& s_;
  size_t i_ = 0;

  [[noreturn]] void error(const std::string& what) const {
    throw std::runtime_error("invalid JSON at offset " + std::to_string(i_) + ": " + what);
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool consume(const char* lit) {
    size_t n = std::char_traits<char>::length(lit);
    if (s_.compare(i_, n, lit) == 0) {
      i_ += n;
      return true;
    }
    return false;
  }
  Json value() {
    ws();
    if (i_ >= s_.size()) error("unexpected end");
    char c = s_[i_];
    if (c == '{') return object();
    if (c == '[') return array();
    if (c == '"') return Json(string());
    if (consume("true")) return Json(true);
    if (consume("false")) return Json(false);
    if (consume("null")) return Json(nullptr);
    // Python's json writes these for non-finite floats.
    if (consume("NaN")) return Json(std::nan(""));
    if (consume("Infinity")) return Json(INFINITY);
    if (consume("-Infinity")) return Json(-INFINITY);
    return number();
  }
  Json number() {
    size_t start = i_;
    if (i_ < s_.size() && (s_[i_] == '-' || s_[i_] == '+')) ++i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' || s_[i_] == 'e' ||
                              s_[i_] == 'E' || s_[i_] == '-' || s_[i_] == '+'))
      ++i_;
    if (start == i_) error("unexpected character");
    try {
      return Json(std::stod(s_.substr(start, i_ - start)));
    } catch (const std::exception&) {
      error("bad number");
    }
  }
  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  uint32_t hex4() {
    if (i_ + 4 > s_.size()) error("bad \\u escape");
    uint32_t v = static_cast<uint32_t>(std::stoul(s_.substr(i_, 4), nullptr, 16));
    i_ += 4;
    return v;
  }
  std::string string() {
    ++i_;  // opening quote
    std::string out;
    while (true) {
      if (i_ >= s_.size()) error("unterminated string");
      char c = s_[i_++];
      if (c == '"') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) error("unterminated escape");
      char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(i_, 2, "\\u") == 0) {
            i_ += 2;
            uint32_t lo = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          put_utf8(out, cp);
          break;
        }
        default: error("bad escape");
      }
    }
    return out;
  }
  Json array() {
    ++i_;
    Json::Array a;
    ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return Json(std::move(a));
    }
    while (true) {
      a.push_back(value());
      ws();
      if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
      if (i_ < s_.size() && s_[i_] == ']') { ++i_; break; }
      error("expected , or ]");
    }
    return Json(std::move(a));
  }
  Json object() {
    ++i_;
    Json::Object o;
    ws();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return Json(std::move(o));
    }
    while (true) {
      ws();
      if (i_ >= s_.size() || s_[i_] != '"') error("expected a key");
      std::string k = string();
      ws();
      if (i_ >= s_.size() || s_[i_] != ':') error("expected :");
      ++i_;
      o.emplace_back(std::move(k), value());
      ws();
      if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
      if (i_ < s_.size() && s_[i_] == '}') { ++i_; break; }
      error("expected , or }");
    }
    return Json(std::move(o));
  }
};

void escape(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace

Json Json::parse(const std::string& text) { return Parser(text).parse_document(); }

const Json* Json::find(const std::string& key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : as_object())
    if (k == key) return &v;
  return nullptr;
}

void Json::set(const std::string& key, Json value) {
  if (!is_object()) v_ = std::make_shared<Object>();
  // Copy-on-write so clones made with the copy constructor do not see the edit.
  auto& ptr = std::get<std::shared_ptr<Object>>(v_);
  if (ptr.use_count() > 1) ptr = std::make_shared<Object>(*ptr);
  for (auto& [k, v] : *ptr)
    if (k == key) {
      v = std::move(value);
      return;
    }
  ptr->emplace_back(key, std::move(value));
}

void Json::erase(const std::string& key) {
  if (!is_object()) return;
  auto& ptr = std::get<std::shared_ptr<Object>>(v_);
  if (ptr.use_count() > 1) ptr = std::make_shared<Object>(*ptr);
  std::erase_if(*ptr, [&](const auto& kv) { return kv.first == key; });
}

std::optional<double> Json::number(const std::string& key) const {
  const Json* v = find(key);
  if (v && v->is_number()) return v->as_number();
  return std::nullopt;
}
std::optional<std::string> Json::string(const std::string& key) const {
  const Json* v = find(key);
  if (v && v->is_string()) return v->as_string();
  return std::nullopt;
}
std::optional<bool> Json::boolean(const std::string& key) const {
  const Json* v = find(key);
  if (v && v->is_bool()) return v->as_bool();
  return std::nullopt;
}

Json Json::clone() const {
  if (is_array()) {
    Array a;
    for (const auto& x : as_array()) a.push_back(x.clone());
    return Json(std::move(a));
  }
  if (is_object()) {
    Object o;
    for (const auto& [k, v] : as_object()) o.emplace_back(k, v.clone());
    return Json(std::move(o));
  }
  return *this;
}

void Json::dump_to(std::string& out, int indent, int depth) const {
  auto newline = [&](int d) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  if (is_null()) {
    out += "null";
  } else if (is_bool()) {
    out += as_bool() ? "true" : "false";
  } else if (is_number()) {
    double d = as_number();
    if (std::isnan(d)) {
      out += "NaN";
    } else if (std::isinf(d)) {
      out += d > 0 ? "Infinity" : "-Infinity";
    } else if (d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) {
      out += std::to_string(static_cast<int64_t>(d));
    } else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      // Prefer the shortest text that reads back to the same double (1e-05, not 1.0000000000000001e-05).
      for (int p = 1; p <= 17; ++p) {
        char t[32];
        std::snprintf(t, sizeof t, "%.*g", p, d);
        if (std::stod(t) == d) {
          std::snprintf(buf, sizeof buf, "%s", t);
          break;
        }
      }
      out += buf;
    }
  } else if (is_string()) {
    escape(out, as_string());
  } else if (is_array()) {
    const auto& a = as_array();
    out += '[';
    for (size_t i = 0; i < a.size(); ++i) {
      if (i) out += indent < 0 ? "," : ",";
      newline(depth + 1);
      a[i].dump_to(out, indent, depth + 1);
    }
    if (!a.empty()) newline(depth);
    out += ']';
  } else {
    const auto& o = as_object();
    out += '{';
    for (size_t i = 0; i < o.size(); ++i) {
      if (i) out += ",";
      newline(depth + 1);
      escape(out, o[i].first);
      out += indent < 0 ? ":" : ": ";
      o[i].second.dump_to(out, indent, depth + 1);
    }
    if (!o.empty()) newline(depth);
    out += '}';
  }
}

std::string Json::dump(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

}  // namespace mlxts
