// An order-status agent on the Vercel AI SDK (`ai` + `@ai-sdk/openai`) with OpenTelemetry, set
// up the way the SDKs' documentation shows — no Proctor code. The OTel Node SDK exports spans
// over OTLP/HTTP (protobuf) to wherever OTEL_EXPORTER_OTLP_ENDPOINT points, with the resource
// OTEL_RESOURCE_ATTRIBUTES names: `proctor run` sets both. The message is read from stdin, the
// answer written to stdout.
//
//   proctor run examples/otel-ts/agent.yaml
import { OpenTelemetry } from "@ai-sdk/otel";
import { createOpenAI } from "@ai-sdk/openai";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { generateText, registerTelemetry, stepCountIs, tool } from "ai";
import { z } from "zod";

const sdk = new NodeSDK({ traceExporter: new OTLPTraceExporter() });
sdk.start();
registerTelemetry(new OpenTelemetry());

const lookupOrder = tool({
  description: "Look up an order's status by its order id",
  inputSchema: z.object({ order_id: z.string() }),
  execute: async ({ order_id }) => ({ order_id, status: "shipped", carrier: "UPS" }),
});

async function answer(question: string): Promise<string> {
  // Chat Completions, which every OpenAI-compatible server speaks.
  const openai = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL });
  const result = await generateText({
    model: openai.chat("gpt-4o-mini"),
    system: "You answer Acme Shop customers about their orders.",
    prompt: question,
    tools: { lookup_order: lookupOrder },
    stopWhen: stepCountIs(5),
    maxRetries: 0,
  });
  return result.text;
}

async function readStdin(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return text.trim();
}

try {
  console.log(await answer(await readStdin()));
} finally {
  // Spans leave in batches: the last one goes out before the process ends.
  await sdk.shutdown();
}
