# Synthetic Terraform for the sovscan config sample.
variable "aws_region" {
  default = "us-west-2"
}

provider "aws" {
  region = var.aws_region
}

resource "aws_bedrockagent_agent" "support" {
  agent_name       = "support"
  foundation_model = "anthropic.claude-3-haiku-20240307-v1:0"
}

resource "azurerm_resource_group" "ai" {
  name     = "rg-ai"
  location = "australiaeast"
}

resource "azurerm_cognitive_account" "openai" {
  name                  = "acme-openai-au"
  location              = azurerm_resource_group.ai.location
  resource_group_name   = azurerm_resource_group.ai.name
  kind                  = "OpenAI"
  sku_name              = "S0"
  custom_subdomain_name = "acme-openai-au"
}

resource "azurerm_cognitive_deployment" "gpt4o" {
  name                 = "gpt-4o"
  cognitive_account_id = azurerm_cognitive_account.openai.id
  model {
    format  = "OpenAI"
    name    = "gpt-4o"
    version = "2024-08-06"
  }
  sku {
    name = "GlobalStandard"
  }
}

resource "azurerm_cognitive_deployment" "embeddings" {
  name                 = "text-embedding-3-small"
  cognitive_account_id = azurerm_cognitive_account.openai.id
  model {
    format = "OpenAI"
    name   = "text-embedding-3-small"
  }
  sku {
    name = "Standard"
  }
}

resource "azurerm_cognitive_account" "eu" {
  name                  = "acme-openai-eu"
  resource_group_name   = azurerm_resource_group.ai.name
  kind                  = "OpenAI"
  sku_name              = "S0"
  custom_subdomain_name = "acme-openai-eu"
  // sovscan: ignore[APP8-C01] EU resource holds synthetic test data only (RISK-112)
  location              = "westeurope"
}
