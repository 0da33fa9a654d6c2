// Field paths, typed reads with errors that name the field, and SetPath.
#include "function/sdk/fields.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace platform::fn::sdk {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

template <typename Case>
std::string CaseName(const ::testing::TestParamInfo<Case>& param) {
  return param.param.name;
}

// The value of a read that must succeed; a failure is reported and gives T{}.
template <typename T>
T Ok(absl::StatusOr<T> v) {
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *std::move(v) : T{};
}

// A path rendered back as strings: keys as they are, indexes as "#N".
std::vector<std::string> Render(const std::vector<PathSegment>& segments) {
  std::vector<std::string> out;
  for (const PathSegment& s : segments) {
    out.push_back(s.is_index ? "#" + std::to_string(s.index) : s.key);
  }
  return out;
}

// --- ParseFieldPath -------------------------------------------------------------

struct GoodPathCase {
  std::string name;
  std::string path;
  std::vector<std::string> want;
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const GoodPathCase& c, std::ostream* os) { *os << c.name; }

class ParseFieldPathGoodTest : public ::testing::TestWithParam<GoodPathCase> {};

TEST_P(ParseFieldPathGoodTest, Parses) {
  const GoodPathCase& c = GetParam();
  absl::StatusOr<std::vector<PathSegment>> got = ParseFieldPath(c.path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Render(*got), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ParseFieldPathGoodTest,
    ::testing::Values(
        GoodPathCase{"Empty", "", {}}, GoodPathCase{"OneKey", "spec", {"spec"}},
        GoodPathCase{"Dotted", "spec.parameters.region", {"spec", "parameters", "region"}},
        GoodPathCase{"Index", "spec.zones[0]", {"spec", "zones", "#0"}},
        GoodPathCase{"IndexThenKey", "spec.zones[12].name", {"spec", "zones", "#12", "name"}},
        GoodPathCase{"IndexesInARow", "m[0][1]", {"m", "#0", "#1"}},
        GoodPathCase{"RootIndex", "[3]", {"#3"}},
        GoodPathCase{"RootIndexThenKey", "[3].a", {"#3", "a"}},
        GoodPathCase{"BracketedKeyWithDots",
                     "metadata.labels[app.kubernetes.io/name]",
                     {"metadata", "labels", "app.kubernetes.io/name"}},
        GoodPathCase{"BracketedKeyThenKey", "a[b.c].d", {"a", "b.c", "d"}},
        GoodPathCase{"BracketedKeyThenIndex", "a[b.c][0]", {"a", "b.c", "#0"}},
        GoodPathCase{"NegativeIsAKey", "a[-1]", {"a", "-1"}},
        GoodPathCase{"NonNumericIsAKey", "a[0x]", {"a", "0x"}},
        GoodPathCase{"KeyWithDashesAndSlashes", "a-b/c", {"a-b/c"}}),
    CaseName<GoodPathCase>);

struct BadPathCase {
  std::string name;
  std::string path;
  std::string want_error;
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const BadPathCase& c, std::ostream* os) { *os << c.name; }

class ParseFieldPathBadTest : public ::testing::TestWithParam<BadPathCase> {};

TEST_P(ParseFieldPathBadTest, Refuses) {
  const BadPathCase& c = GetParam();
  absl::StatusOr<std::vector<PathSegment>> got = ParseFieldPath(c.path);
  ASSERT_FALSE(got.ok()) << "parsed as " << ::testing::PrintToString(Render(*got));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(got.status().message()), c.want_error);
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ParseFieldPathBadTest,
    ::testing::Values(
        BadPathCase{"TrailingDot", "spec.", R"(invalid field path "spec.": trailing '.')"},
        BadPathCase{"LeadingDot", ".spec", R"(invalid field path ".spec": empty field name)"},
        BadPathCase{"DoubleDot", "spec..x", R"(invalid field path "spec..x": empty field name)"},
        BadPathCase{"OnlyDot", ".", R"(invalid field path ".": empty field name)"},
        BadPathCase{"Unclosed", "a[0", R"(invalid field path "a[0": unclosed '[')"},
        BadPathCase{"UnclosedEmpty", "a[", R"(invalid field path "a[": unclosed '[')"},
        BadPathCase{"EmptyBrackets", "a[]", R"(invalid field path "a[]": empty brackets)"},
        BadPathCase{"TrailingDotAfterIndex", "a[0].",
                    R"(invalid field path "a[0].": trailing '.')"},
        BadPathCase{"DoubleDotAfterIndex", "a[0]..b",
                    R"(invalid field path "a[0]..b": empty field name)"},
        BadPathCase{"TextAfterBracket", "a[0]b",
                    R"(invalid field path "a[0]b": expected '.' or '[' after ']')"},
        BadPathCase{"StrayClosingBracket", "a]b", R"(invalid field path "a]b": unexpected ']')"},
        BadPathCase{"StrayClosingBracketAfterDot", "a.]",
                    R"(invalid field path "a.]": unexpected ']')"}),
    CaseName<BadPathCase>);

TEST(FieldsJoinPath, Joins) {
  EXPECT_EQ(JoinPath("", ""), "");
  EXPECT_EQ(JoinPath("", "region"), "region");
  EXPECT_EQ(JoinPath("spec", ""), "spec");
  EXPECT_EQ(JoinPath("spec", "region"), "spec.region");
  EXPECT_EQ(JoinPath("spec", "[0]"), "spec[0]");
  EXPECT_EQ(JoinPath("spec.zones[1]", "name"), "spec.zones[1].name");
}

TEST(FieldsFieldError, NamesPathAndRule) {
  absl::Status s = FieldError("spec.parameters.region", "required");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "spec.parameters.region: required");
}

// --- Typed reads ----------------------------------------------------------------

const Json& Doc() {
  static const Json doc = Json::parse(R"({
    "spec": {
      "name": "web",
      "empty": "",
      "replicas": 3,
      "negative": -5,
      "ratio": 0.5,
      "whole": 4.0,
      "wholeNegative": -2.0,
      "huge": 1e300,
      "unsignedMax": 18446744073709551615,
      "enabled": true,
      "nothing": null,
      "zones": ["a", "b", 7],
      "goodZones": ["eu-west-1a", "eu-west-1b"],
      "items": [{"n": 1}, {"n": 2}, "x"],
      "objs": [{"n": 1}, {"m": 2}],
      "tags": {"Env": "dev", "Count": 3},
      "goodTags": {"b": "2", "a": "1"},
      "labels": {"app.kubernetes.io/name": "web"},
      "env": "staging",
      "tier": "dev",
      "nested": {"deep": {"x": "y"}}
    },
    "list": [{"a": 1}, [10, 20]]
  })");
  return doc;
}

// Dotted paths are walked in place, others parsed: both must find the same
// value, nothing, or the same error.
TEST(FieldsFind, DottedPathsFindWhatTheirBracketedSpellingFinds) {
  const Fields f(Doc(), "x");
  auto describe = [](const absl::StatusOr<const Json*>& v) -> std::string {
    if (!v.ok()) return "error: " + std::string(v.status().message());
    return *v == nullptr ? "nothing" : (*v)->dump();
  };
  const std::vector<std::pair<std::string, std::string>> same = {
      {"spec.nested.deep.x", "spec[nested].deep[x]"},
      {"spec.nested", "spec[nested]"},
      {"spec.missing.x", "spec[missing].x"},
      {"spec.nothing.x", "spec[nothing].x"},
      {"spec.name.x", "spec[name].x"},
      {"spec.zones.x", "spec[zones].x"},
      {"list.a", "list[a]"},
      {"spec.labels.app", "spec[labels][app]"},
  };
  for (const auto& [dotted, bracketed] : same) {
    EXPECT_EQ(describe(f.Find(dotted)), describe(f.Find(bracketed))) << dotted;
  }
  EXPECT_EQ(describe(f.Find("spec.nested.deep.x")), "\"y\"");
  EXPECT_EQ(describe(f.Find("spec.name.x")), "error: x.spec.name: must be an object, not a string");
  EXPECT_EQ(describe(f.Find("spec..x")), "error: invalid field path \"spec..x\": empty field name");
  EXPECT_EQ(describe(f.Find("spec.nothing")), "nothing");
}

// One read through some accessor; the error message, or "ok: <value>".
using Read = std::function<std::string(const Fields&)>;

template <typename T>
std::string Describe(const absl::StatusOr<T>& v) {
  if (!v.ok()) return std::string(v.status().message());
  return "ok: " + ::testing::PrintToString(*v);
}

struct ReadCase {
  std::string name;
  Read read;
  std::string want;
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const ReadCase& c, std::ostream* os) { *os << c.name; }

class FieldsReadTest : public ::testing::TestWithParam<ReadCase> {};

TEST_P(FieldsReadTest, Reads) {
  const ReadCase& c = GetParam();
  EXPECT_EQ(c.read(Fields(Doc())), c.want);
}

Read Str(std::string rel) {
  return [rel](const Fields& f) { return Describe(f.String(rel)); };
}
Read StrOr(std::string rel, std::string fallback) {
  return [rel, fallback](const Fields& f) { return Describe(f.String(rel, fallback)); };
}
Read Int(std::string rel) {
  return [rel](const Fields& f) { return Describe(f.Int(rel)); };
}
Read IntOr(std::string rel, std::int64_t fallback) {
  return [rel, fallback](const Fields& f) { return Describe(f.Int(rel, fallback)); };
}
Read Bool(std::string rel) {
  return [rel](const Fields& f) { return Describe(f.Bool(rel)); };
}
Read BoolOr(std::string rel, bool fallback) {
  return [rel, fallback](const Fields& f) { return Describe(f.Bool(rel, fallback)); };
}
Read Num(std::string rel) {
  return [rel](const Fields& f) { return Describe(f.Number(rel)); };
}
Read Obj(std::string rel) {
  return [rel](const Fields& f) {
    absl::StatusOr<Fields> o = f.Object(rel);
    if (!o.ok()) return std::string(o.status().message());
    return "ok: " + o->path() + " " + o->value().dump();
  };
}
Read List(std::string rel) {
  return [rel](const Fields& f) { return Describe(f.StringList(rel)); };
}
Read ObjList(std::string rel) {
  return [rel](const Fields& f) {
    auto l = f.ObjectList(rel);
    if (!l.ok()) return std::string(l.status().message());
    std::string out = "ok:";
    for (const Fields& item : *l) out += " " + item.path() + "=" + item.value().dump();
    return out;
  };
}
Read Map(std::string rel) {
  return [rel](const Fields& f) { return Describe(f.StringMap(rel)); };
}
Read EnumOf(std::string rel, std::string fallback = "") {
  return [rel, fallback](const Fields& f) {
    return Describe(f.Enum(rel, {"dev", "test", "sandbox", "prod"}, fallback));
  };
}

INSTANTIATE_TEST_SUITE_P(
    Fields, FieldsReadTest,
    ::testing::Values(
        // String
        ReadCase{"String", Str("spec.name"), R"(ok: "web")"},
        ReadCase{"StringEmptyIsPresent", Str("spec.empty"), R"(ok: "")"},
        ReadCase{"StringRequired", Str("spec.missing"), "spec.missing: required"},
        ReadCase{"StringNullIsRequired", Str("spec.nothing"), "spec.nothing: required"},
        ReadCase{"StringParentMissing", Str("spec.a.b.c"), "spec.a.b.c: required"},
        ReadCase{"StringWrongType", Str("spec.replicas"),
                 "spec.replicas: must be a string, not an integer"},
        ReadCase{"StringWrongTypeNumber", Str("spec.ratio"),
                 "spec.ratio: must be a string, not a number"},
        ReadCase{"StringWrongTypeBool", Str("spec.enabled"),
                 "spec.enabled: must be a string, not a boolean"},
        ReadCase{"StringWrongTypeList", Str("spec.zones"),
                 "spec.zones: must be a string, not a list"},
        ReadCase{"StringWrongTypeObject", Str("spec.nested"),
                 "spec.nested: must be a string, not an object"},
        ReadCase{"StringThroughAString", Str("spec.name.first"),
                 "spec.name: must be an object, not a string"},
        ReadCase{"StringThroughAListItem", Str("spec.zones[0].x"),
                 "spec.zones[0]: must be an object, not a string"},
        ReadCase{"StringIndexIntoObject", Str("spec[0]"), "spec: must be a list, not an object"},
        ReadCase{"StringIndexPastEndIsAbsent", Str("spec.zones[9]"), "spec.zones[9]: required"},
        ReadCase{"StringByIndex", Str("spec.goodZones[1]"), R"(ok: "eu-west-1b")"},
        ReadCase{"StringByDottedKey", Str("spec.labels[app.kubernetes.io/name]"), R"(ok: "web")"},
        ReadCase{"StringThroughDottedKey", Str("spec.labels[app.kubernetes.io/name].x"),
                 "spec.labels[app.kubernetes.io/name]: must be an object, not a string"},
        ReadCase{"StringThroughRootList", Str("list[1].x"),
                 "list[1]: must be an object, not a list"},
        ReadCase{"StringMalformedPath", Str("spec..name"),
                 R"(invalid field path "spec..name": empty field name)"},
        ReadCase{"StringOrFallbackWhenAbsent", StrOr("spec.missing", "fb"), R"(ok: "fb")"},
        ReadCase{"StringOrFallbackWhenNull", StrOr("spec.nothing", "fb"), R"(ok: "fb")"},
        ReadCase{"StringOrValue", StrOr("spec.name", "fb"), R"(ok: "web")"},
        ReadCase{"StringOrWrongType", StrOr("spec.replicas", "fb"),
                 "spec.replicas: must be a string, not an integer"},
        // Int and the whole-number rule
        ReadCase{"Int", Int("spec.replicas"), "ok: 3"},
        ReadCase{"IntNegative", Int("spec.negative"), "ok: -5"},
        ReadCase{"IntWholeDouble", Int("spec.whole"), "ok: 4"},
        ReadCase{"IntWholeNegativeDouble", Int("spec.wholeNegative"), "ok: -2"},
        ReadCase{"IntFraction", Int("spec.ratio"), "spec.ratio: must be a whole number"},
        ReadCase{"IntHugeDouble", Int("spec.huge"), "spec.huge: is too large for an integer"},
        ReadCase{"IntUnsignedBeyondInt64", Int("spec.unsignedMax"),
                 "spec.unsignedMax: is too large for an integer"},
        ReadCase{"IntRequired", Int("spec.missing"), "spec.missing: required"},
        ReadCase{"IntWrongType", Int("spec.name"), "spec.name: must be an integer, not a string"},
        ReadCase{"IntOrFallback", IntOr("spec.missing", 42), "ok: 42"},
        ReadCase{"IntOrValue", IntOr("spec.replicas", 42), "ok: 3"},
        ReadCase{"IntOrFraction", IntOr("spec.ratio", 42), "spec.ratio: must be a whole number"},
        ReadCase{"IntOrWrongType", IntOr("spec.enabled", 42),
                 "spec.enabled: must be an integer, not a boolean"},
        ReadCase{"IntFromRootList", Int("list[1][1]"), "ok: 20"},
        // Bool
        ReadCase{"Bool", Bool("spec.enabled"), "ok: true"},
        ReadCase{"BoolRequired", Bool("spec.missing"), "spec.missing: required"},
        ReadCase{"BoolWrongType", Bool("spec.name"), "spec.name: must be a boolean, not a string"},
        ReadCase{"BoolOrFallback", BoolOr("spec.missing", true), "ok: true"},
        ReadCase{"BoolOrWrongType", BoolOr("spec.replicas", false),
                 "spec.replicas: must be a boolean, not an integer"},
        // Number takes integers too
        ReadCase{"NumberDouble", Num("spec.ratio"), "ok: 0.5"},
        ReadCase{"NumberInteger", Num("spec.replicas"), "ok: 3"},
        ReadCase{"NumberRequired", Num("spec.missing"), "spec.missing: required"},
        ReadCase{"NumberWrongType", Num("spec.name"), "spec.name: must be a number, not a string"},
        // Object views keep their path
        ReadCase{"Object", Obj("spec.nested"), R"(ok: spec.nested {"deep":{"x":"y"}})"},
        ReadCase{"ObjectRequired", Obj("spec.missing"), "spec.missing: required"},
        ReadCase{"ObjectWrongType", Obj("spec.name"), "spec.name: must be an object, not a string"},
        ReadCase{"ObjectInList", Obj("list[0]"), R"(ok: list[0] {"a":1})"},
        // StringList
        ReadCase{"StringList", List("spec.goodZones"), R"(ok: { "eu-west-1a", "eu-west-1b" })"},
        ReadCase{"StringListAbsentIsEmpty", List("spec.missing"), "ok: {}"},
        ReadCase{"StringListNullIsEmpty", List("spec.nothing"), "ok: {}"},
        ReadCase{"StringListItemError", List("spec.zones"),
                 "spec.zones[2]: must be a string, not an integer"},
        ReadCase{"StringListWrongType", List("spec.name"),
                 "spec.name: must be a list, not a string"},
        // ObjectList
        ReadCase{"ObjectList", ObjList("spec.objs"),
                 R"(ok: spec.objs[0]={"n":1} spec.objs[1]={"m":2})"},
        ReadCase{"ObjectListAbsentIsEmpty", ObjList("spec.missing"), "ok:"},
        ReadCase{"ObjectListItemError", ObjList("spec.items"),
                 "spec.items[2]: must be an object, not a string"},
        ReadCase{"ObjectListWrongType", ObjList("spec.tags"),
                 "spec.tags: must be a list, not an object"},
        // StringMap
        ReadCase{"StringMapInKeyOrder", Map("spec.goodTags"), R"(ok: { ("a", "1"), ("b", "2") })"},
        ReadCase{"StringMapAbsentIsEmpty", Map("spec.missing"), "ok: {}"},
        ReadCase{"StringMapItemError", Map("spec.tags"),
                 "spec.tags[Count]: must be a string, not an integer"},
        ReadCase{"StringMapWrongType", Map("spec.zones"),
                 "spec.zones: must be an object, not a list"},
        // Enum
        ReadCase{"Enum", EnumOf("spec.tier"), R"(ok: "dev")"},
        ReadCase{"EnumNotAllowed", EnumOf("spec.env"),
                 R"(spec.env: must be one of dev, test, sandbox, prod, not "staging")"},
        ReadCase{"EnumNotAllowedWithFallback", EnumOf("spec.env", "dev"),
                 R"(spec.env: must be one of dev, test, sandbox, prod, not "staging")"},
        ReadCase{"EnumRequired", EnumOf("spec.missing"), "spec.missing: required"},
        ReadCase{"EnumFallback", EnumOf("spec.missing", "prod"), R"(ok: "prod")"},
        ReadCase{"EnumWrongType", EnumOf("spec.replicas"),
                 "spec.replicas: must be a string, not an integer"},
        ReadCase{"EnumEmptyStringNotAllowed", EnumOf("spec.empty"),
                 R"(spec.empty: must be one of dev, test, sandbox, prod, not "")"}),
    CaseName<ReadCase>);

TEST(FieldsView, ErrorsNameTheFullPath) {
  const Fields root(Doc());
  absl::StatusOr<Fields> spec = root.Object("spec");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->path(), "spec");

  EXPECT_EQ(std::string(spec->String("missing").status().message()), "spec.missing: required");
  EXPECT_EQ(std::string(spec->Int("name").status().message()),
            "spec.name: must be an integer, not a string");
  EXPECT_EQ(std::string(spec->String("zones[0].x").status().message()),
            "spec.zones[0]: must be an object, not a string");

  absl::StatusOr<Fields> deep = spec->Object("nested.deep");
  ASSERT_TRUE(deep.ok()) << deep.status();
  EXPECT_EQ(deep->path(), "spec.nested.deep");
  EXPECT_EQ(std::string(deep->String("y").status().message()), "spec.nested.deep.y: required");
  EXPECT_EQ(Ok(deep->String("x")), "y");

  // Items of an ObjectList carry their index in errors.
  absl::StatusOr<std::vector<Fields>> objs = spec->ObjectList("objs");
  ASSERT_TRUE(objs.ok()) << objs.status();
  ASSERT_EQ(objs->size(), 2u);
  EXPECT_EQ(Ok((*objs)[0].Int("n")), 1);
  EXPECT_EQ(std::string((*objs)[1].Int("n").status().message()), "spec.objs[1].n: required");

  // A view with an explicit root path.
  const Fields xr(Doc(), "observed.composite.resource");
  EXPECT_EQ(std::string(xr.String("spec.missing").status().message()),
            "observed.composite.resource.spec.missing: required");
  EXPECT_EQ(std::string(xr.String("spec.name.x").status().message()),
            "observed.composite.resource.spec.name: must be an object, not a string");
}

TEST(FieldsView, FindAndHas) {
  const Fields f(Doc());
  absl::StatusOr<const Json*> whole = f.Find("");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(*whole, &Doc());

  absl::StatusOr<const Json*> name = f.Find("spec.name");
  ASSERT_TRUE(name.ok());
  ASSERT_NE(*name, nullptr);
  EXPECT_EQ(**name, "web");

  EXPECT_EQ(Ok(f.Find("spec.missing")), nullptr);
  EXPECT_EQ(Ok(f.Find("spec.nothing")), nullptr);
  EXPECT_EQ(Ok(f.Find("spec.nothing.below")), nullptr);
  EXPECT_EQ(Ok(f.Find("spec.zones[3]")), nullptr);
  EXPECT_FALSE(f.Find("spec.name.x").ok());
  EXPECT_FALSE(f.Find("spec[").ok());

  EXPECT_TRUE(f.Has("spec.name"));
  EXPECT_TRUE(f.Has("spec.empty"));
  EXPECT_TRUE(f.Has("spec.labels[app.kubernetes.io/name]"));
  EXPECT_FALSE(f.Has("spec.missing"));
  EXPECT_FALSE(f.Has("spec.nothing"));
  EXPECT_FALSE(f.Has("spec.name.x"));  // a step through a string
  EXPECT_FALSE(f.Has("spec..name"));   // malformed
}

TEST(FieldsView, NonObjectRoot) {
  const Json s = "text";
  const Fields f(s, "x");
  EXPECT_EQ(std::string(f.String("a").status().message()), "x: must be an object, not a string");
  const Json null = nullptr;
  EXPECT_EQ(std::string(Fields(null, "x").String("a").status().message()), "x.a: required");
  EXPECT_EQ(Ok(Fields(null, "x").String("a", "fb")), "fb");
}

TEST(FieldsView, TypedResults) {
  const Fields f(Doc());
  EXPECT_THAT(Ok(f.StringList("spec.goodZones")), ElementsAre("eu-west-1a", "eu-west-1b"));
  EXPECT_THAT(Ok(f.StringList("spec.missing")), IsEmpty());
  EXPECT_THAT(Ok(f.StringMap("spec.goodTags")), ElementsAre(Pair("a", "1"), Pair("b", "2")));
  EXPECT_EQ(Ok(f.Int("spec.whole")), std::int64_t{4});
  EXPECT_EQ(Ok(f.Number("spec.ratio")), 0.5);
  EXPECT_TRUE(Ok(f.Bool("spec.enabled")));
}

// --- SetPath --------------------------------------------------------------------

struct SetCase {
  std::string name;
  std::string before;
  std::string path;
  Json value;
  std::string want;        // the object afterwards, when it succeeds
  std::string want_error;  // the error; the object must then be unchanged
};

// Failure messages name the case rather than dumping its bytes.
void PrintTo(const SetCase& c, std::ostream* os) { *os << c.name; }

class SetPathTest : public ::testing::TestWithParam<SetCase> {};

TEST_P(SetPathTest, Sets) {
  const SetCase& c = GetParam();
  Json obj = Json::parse(c.before);
  const std::string before = obj.dump();
  absl::Status s = SetPath(obj, c.path, c.value);
  if (!c.want_error.empty()) {
    ASSERT_FALSE(s.ok()) << "set to " << obj.dump();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(s.message()), c.want_error);
    EXPECT_EQ(obj.dump(), before) << "a failed SetPath changed the object";
    return;
  }
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(obj.dump(), Json::parse(c.want).dump());
}

INSTANTIATE_TEST_SUITE_P(
    Fields, SetPathTest,
    ::testing::Values(
        SetCase{"TopLevel", "{}", "a", 1, R"({"a":1})", ""},
        SetCase{"CreatesObjects", "{}", "a.b.c", "x", R"({"a":{"b":{"c":"x"}}})", ""},
        SetCase{"KeepsSiblings", R"({"a":{"k":1},"z":2})", "a.b", true,
                R"({"a":{"b":true,"k":1},"z":2})", ""},
        SetCase{"Replaces", R"({"a":{"b":1}})", "a.b", Json::array({1}), R"({"a":{"b":[1]}})", ""},
        SetCase{"ReplacesAnObject", R"({"a":{"b":{"c":1}}})", "a.b", "s", R"({"a":{"b":"s"}})", ""},
        SetCase{"NullBecomesObject", R"({"a":null})", "a.b", 1, R"({"a":{"b":1}})", ""},
        SetCase{"DottedKey", "{}", "metadata.labels[app.kubernetes.io/name]", "web",
                R"({"metadata":{"labels":{"app.kubernetes.io/name":"web"}}})", ""},
        SetCase{"ReplaceIndex", R"({"l":[1,2]})", "l[0]", 9, R"({"l":[9,2]})", ""},
        SetCase{"AppendIndex", R"({"l":[1,2]})", "l[2]", 3, R"({"l":[1,2,3]})", ""},
        SetCase{"CreatesList", "{}", "l[0]", "x", R"({"l":["x"]})", ""},
        SetCase{"CreatesListOfObjects", "{}", "l[0].name", "x", R"({"l":[{"name":"x"}]})", ""},
        SetCase{"IntoListItem", R"({"l":[{"a":1}]})", "l[0].b", 2, R"({"l":[{"a":1,"b":2}]})", ""},
        SetCase{"AppendThenNested", R"({"l":[[0]]})", "l[1][0]", 1, R"({"l":[[0],[1]]})", ""},
        SetCase{"PastTheEnd", R"({"l":[1]})", "l[3]", 0, "",
                "l[3]: index 3 is past the end of the list"},
        SetCase{"PastTheEndOfNewList", "{}", "l[1]", 0, "",
                "l[1]: index 1 is past the end of the list"},
        SetCase{"PastTheEndDeepInNewObjects", R"({"keep":1})", "x.y[2]", 0, "",
                "x.y[2]: index 2 is past the end of the list"},
        SetCase{"PastTheEndAfterAppend", R"({"l":[]})", "l[0][1]", 0, "",
                "l[0][1]: index 1 is past the end of the list"},
        SetCase{"FieldInString", R"({"a":"s"})", "a.b", 1, "",
                R"(a.b: cannot set field "b" in a string)"},
        SetCase{"FieldInList", R"({"a":[1]})", "a.b", 1, "",
                R"(a.b: cannot set field "b" in a list)"},
        SetCase{"FieldInIntegerDeep", R"({"a":{"b":3}})", "a.b.c.d", 1, "",
                R"(a.b.c.d: cannot set field "c" in an integer)"},
        SetCase{"IndexIntoObject", R"({"a":{}})", "a[0]", 1, "",
                "a[0]: cannot index into an object"},
        SetCase{"IndexIntoString", R"({"a":"s"})", "a[0]", 1, "",
                "a[0]: cannot index into a string"},
        SetCase{"RootIndexIntoObject", "{}", "[0]", 1, "", "[0]: cannot index into an object"},
        SetCase{"EmptyPath", "{}", "", 1, "", "empty field path"},
        SetCase{"MalformedPath", "{}", "a..b", 1, "",
                R"(invalid field path "a..b": empty field name)"}),
    CaseName<SetCase>);

TEST(FieldsSetPath, NullRootBecomesObject) {
  Json j = nullptr;
  ASSERT_TRUE(SetPath(j, "a.b", 1).ok());
  EXPECT_EQ(j.dump(), R"({"a":{"b":1}})");
}

}  // namespace
}  // namespace platform::fn::sdk
