using System.Globalization;
using System.Text;
using System.Xml;

namespace CrmSync.Sandbox.BusinessCentral;

/// <summary>
/// The CSDL document at <c>api/v2.0/$metadata</c>, which every <c>@odata.context</c> points at: the entity types the
/// sandbox emulates (namespace Microsoft.NAV), their options as enum types, their navigation properties, and the
/// companies entity set that contains the rest — built from the same schemas the service runs on, so it stays true.
/// </summary>
public static class BcMetadata
{
    private const string Namespace = "Microsoft.NAV";

    public static byte[] Document { get; } = Build();

    private static byte[] Build()
    {
        var types = new[] { BcSchemas.Company }.Concat(BcSchemas.CompanyEntities).Append(BcSchemas.CustomerFinancialDetail).ToList();
        var settings = new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = true };
        using var buffer = new MemoryStream();
        using (var xml = XmlWriter.Create(buffer, settings))
        {
            const string edmx = "http://docs.oasis-open.org/odata/ns/edmx";
            const string edm = "http://docs.oasis-open.org/odata/ns/edm";
            xml.WriteStartElement("edmx", "Edmx", edmx);
            xml.WriteAttributeString("Version", "4.0");
            xml.WriteStartElement("edmx", "DataServices", edmx);
            xml.WriteStartElement("Schema", edm);
            xml.WriteAttributeString("Namespace", Namespace);
            foreach (var schema in types)
            {
                foreach (var column in schema.Columns.Where(c => c.EnumMembers is not null))
                {
                    WriteEnum(xml, EnumName(schema, column), column.EnumMembers!);
                }
            }

            foreach (var schema in types)
            {
                WriteEntityType(xml, schema);
            }

            xml.WriteStartElement("EntityContainer");
            xml.WriteAttributeString("Name", "NAV");
            xml.WriteStartElement("EntitySet");
            xml.WriteAttributeString("Name", BcSchemas.Company.EntitySet);
            xml.WriteAttributeString("EntityType", $"{Namespace}.{BcSchemas.Company.LogicalName}");
            xml.WriteEndElement();
            xml.WriteEndElement();
            xml.WriteEndElement();
            xml.WriteEndElement();
            xml.WriteEndElement();
        }

        return buffer.ToArray();
    }

    private static void WriteEnum(XmlWriter xml, string name, IReadOnlyList<string> members)
    {
        xml.WriteStartElement("EnumType");
        xml.WriteAttributeString("Name", name);
        for (var i = 0; i < members.Count; i++)
        {
            xml.WriteStartElement("Member");
            xml.WriteAttributeString("Name", members[i]);
            xml.WriteAttributeString("Value", i.ToString(CultureInfo.InvariantCulture));
            xml.WriteEndElement();
        }

        xml.WriteEndElement();
    }

    private static void WriteEntityType(XmlWriter xml, EntitySchema schema)
    {
        xml.WriteStartElement("EntityType");
        xml.WriteAttributeString("Name", schema.LogicalName);
        xml.WriteStartElement("Key");
        // A business relation is addressed by its contact and the entity it relates to; the sandbox's row key is internal.
        foreach (var key in schema == BcSchemas.ContactInformation ? new[] { "contactId", "relatedId" } : new[] { schema.Key })
        {
            xml.WriteStartElement("PropertyRef");
            xml.WriteAttributeString("Name", key);
            xml.WriteEndElement();
        }

        xml.WriteEndElement();
        foreach (var column in schema.Columns.Where(c => !c.WriteOnly))
        {
            xml.WriteStartElement("Property");
            xml.WriteAttributeString("Name", column.Name);
            xml.WriteAttributeString("Type", column.EnumMembers is null ? column.EdmType : $"{Namespace}.{EnumName(schema, column)}");
            if (column.Name == schema.Key || column.Type is ColumnType.Guid or ColumnType.Decimal or ColumnType.Int or ColumnType.Bool)
            {
                xml.WriteAttributeString("Nullable", "false");
            }

            if (column.MaxLength > 0)
            {
                xml.WriteAttributeString("MaxLength", column.MaxLength.ToString(CultureInfo.InvariantCulture));
            }

            xml.WriteEndElement();
        }

        var navigation = schema == BcSchemas.Company
            ? BcSchemas.CompanyEntities.Select(e => (Name: e.EntitySet, Type: $"Collection({Namespace}.{e.LogicalName})"))
            : BcNavigation.Of(schema).Select(p => (p.Name, Type: p.IsCollection ? $"Collection({Namespace}.{p.Target.LogicalName})" : $"{Namespace}.{p.Target.LogicalName}"));
        foreach (var (name, type) in navigation)
        {
            xml.WriteStartElement("NavigationProperty");
            xml.WriteAttributeString("Name", name);
            xml.WriteAttributeString("Type", type);
            xml.WriteAttributeString("ContainsTarget", "true");
            xml.WriteEndElement();
        }

        xml.WriteEndElement();
    }

    // BC names an option's enum type after the entity and the field: customerBlocked, contactType, ...
    private static string EnumName(EntitySchema schema, Column column) => schema.LogicalName + char.ToUpperInvariant(column.Name[0]) + column.Name[1..];
}
