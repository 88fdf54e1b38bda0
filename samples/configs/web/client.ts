// Synthetic TypeScript client for the sovscan config sample (never run). The key is fake.
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { ChatOpenAI } from "@langchain/openai";

const EU_BASE = "https://eu.api.openai.com/v1";

export const openai = new OpenAI({
  baseURL: EU_BASE,
  apiKey: process.env.OPENAI_API_KEY,
});

export const anthropic = new Anthropic({
  apiKey: "sk-ant-api03-FakeTsCanaryKeyForSovscanSamplesOnly0123456789abcdefghijklmnopqrstuvwxyz-AA",
});

export const bedrock = new BedrockRuntimeClient({ region: process.env.AWS_REGION ?? "us-east-1" });

export const chat = new ChatOpenAI({
  model: "gpt-4o-mini",
  // sovscan: ignore[APP8-C01] Groq approved for public FAQ content only (RISK-087)
  configuration: { baseURL: "https://api.groq.com/openai/v1" },
});

export async function summarise(text: string) {
  /* store: true would keep the request; this call opts out */
  return openai.responses.create({ model: "gpt-4o", input: text, store: false });
}
