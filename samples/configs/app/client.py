"""Synthetic application code for the sovscan config sample (never run)."""

import os

import boto3
from anthropic import Anthropic
from langchain_openai import AzureChatOpenAI
from openai import OpenAI

openai_client = OpenAI()
claude = Anthropic(base_url="http://claude-gateway.example.net")
bedrock = boto3.client("bedrock-runtime", region_name="ap-southeast-2")
azure_llm = AzureChatOpenAI(
    azure_endpoint=os.environ["AZURE_OPENAI_ENDPOINT"],
    api_version="2024-06-01",
)
OLLAMA = os.getenv("OLLAMA_HOST", "http://localhost:11434")


def answer(question: str) -> object:
    return openai_client.responses.create(model="gpt-4o", input=question)


def answer_privately(question: str) -> object:
    return openai_client.responses.create(model="gpt-4o", input=question, store=False)
