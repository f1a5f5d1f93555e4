// lake/glue_catalog_test.cc — Glue names, column types, the TableInput and the settings' errors
// (the calls themselves: tests/glue_test.cc against moto).
#include "watershed/lake/glue_catalog.h"

#include "gtest/gtest.h"

namespace watershed::lake {
namespace {

TEST(GlueNames, AreLowercaseWithTheNamespaceJoinedByUnderscore) {
  EXPECT_EQ(GlueTableName("crunchbase.organizations"), "crunchbase_organizations");
  EXPECT_EQ(GlueTableName("Shop.Order-Lines"), "shop_order_lines");
  EXPECT_EQ(GlueColumnType("long"), "bigint");
  EXPECT_EQ(GlueColumnType("decimal(18, 4)"), "decimal(18,4)");
  EXPECT_EQ(GlueColumnType("timestamp"), "timestamp");
  EXPECT_EQ(IcebergMetadataVersion("s3://b/x/metadata/00012-ab.metadata.json"), 12);
  EXPECT_EQ(IcebergMetadataVersion("s3://b/x/metadata/v12.metadata.json"), 0);
}

TEST(GlueTableInput, IsWhatAthenaReadsAnIcebergTableFrom) {
  IcebergTablePointer p;
  p.table = "shop.orders";
  p.location = "s3://lake/structured/shop/orders";
  p.metadata_location = "s3://lake/structured/shop/orders/metadata/00002-u.metadata.json";
  p.previous_metadata_location = "s3://lake/structured/shop/orders/metadata/00001-u.metadata.json";
  p.schema.fields = {{1, "ingest_date", "date", false}, {2, "id", "long", true}};
  const nlohmann::json t = GlueTableInput(p);
  EXPECT_EQ(t["Name"], "shop_orders");
  EXPECT_EQ(t["TableType"], "EXTERNAL_TABLE");
  EXPECT_EQ(t["Parameters"]["table_type"], "ICEBERG");
  EXPECT_EQ(t["Parameters"]["metadata_location"], p.metadata_location);
  EXPECT_EQ(t["Parameters"]["previous_metadata_location"], p.previous_metadata_location);
  EXPECT_EQ(t["StorageDescriptor"]["Location"], p.location);
  ASSERT_EQ(t["StorageDescriptor"]["Columns"].size(), 2u);
  EXPECT_EQ(t["StorageDescriptor"]["Columns"][1]["Type"], "bigint");
  EXPECT_EQ(t["StorageDescriptor"]["Columns"][1]["Parameters"]["iceberg.field.id"], "2");
  EXPECT_EQ(t["StorageDescriptor"]["Columns"][1]["Parameters"]["iceberg.field.optional"], "false");
  p.previous_metadata_location.clear();
  EXPECT_FALSE(GlueTableInput(p)["Parameters"].contains("previous_metadata_location"));
}

TEST(GlueSettings, NameWhatIsWrong) {
  const EnvLookup none = [](std::string_view) { return std::optional<std::string>(); };
  auto ok = GlueSettingsFromYaml(
      YAML::Load("{region: eu-west-1, database: lake, access_key_id: A, secret_access_key: B}"),
      "w.yml:3", none);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->database, "lake");
  EXPECT_EQ(ok->aws.region, "eu-west-1");
  for (const char* bad : {"{region: eu-west-1}", "{region: eu-west-1, database: My-Lake}",
                          "{region: eu-west-1, database: l, catalog_id: '12'}", "[1]"}) {
    auto st = GlueSettingsFromYaml(YAML::Load(bad), "w.yml:3", none);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.status().message().find("w.yml:3"), std::string::npos) << st.status();
  }
}

}  // namespace
}  // namespace watershed::lake
