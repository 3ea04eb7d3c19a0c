import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
const ddb = new DynamoDBClient({ region: "us-east-1" });

export const handler = async (event) => {
  for (const r of event.Records) {
    const payload = Buffer.from(r.kinesis.data, "base64").toString("utf8");
    const obj = JSON.parse(payload);
    const eventId = obj.eventId;
    try {
      // Claim dedupe entry
      await ddb.send(new PutItemCommand({
        TableName: "dedupe",
        Item: { eventId: { S: eventId }, ts: { N: String(Date.now()) } },
        ConditionExpression: "attribute_not_exists(eventId)"
      }));
      // process obj...
    } catch (e) {
      if (e.name === "ConditionalCheckFailedException") {
        console.log("duplicate, skip", eventId);
      } else {
        throw e;
      }
    }
  }
};
