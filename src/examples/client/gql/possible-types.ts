
      export type PossibleTypesResultData = {
  "possibleTypes": {
    "ActivateIntegrationResult": [
      "ActivateIntegrationPayload",
      "ConflictError",
      "InvalidStateError",
      "NotFoundError"
    ],
    "ConfigureIntegrationResult": [
      "ConfigureIntegrationPayload",
      "ConflictError",
      "ValidationError"
    ],
    "CreateApiKeyResult": [
      "ConflictError",
      "CreateApiKeyPayload",
      "ValidationError"
    ],
    "CreateConnectSessionResult": [
      "CreateConnectSessionPayload",
      "ValidationError"
    ],
    "CreateEmbeddingResult": [
      "ConflictError",
      "CreateEmbeddingPayload",
      "NoActiveProviderError",
      "ValidationError"
    ],
    "CreateRoutingRuleResult": [
      "ConflictError",
      "CreateRoutingRulePayload",
      "NotFoundError",
      "ValidationError"
    ],
    "CreateWebhookResult": [
      "ConflictError",
      "CreateWebhookPayload",
      "ValidationError"
    ],
    "DeleteIntegrationResult": [
      "ConflictError",
      "DeleteIntegrationPayload",
      "NotFoundError"
    ],
    "DeleteRoutingRuleResult": [
      "DeleteRoutingRulePayload",
      "NotFoundError"
    ],
    "DeleteWebhookResult": [
      "DeleteWebhookPayload",
      "NotFoundError"
    ],
    "DisableIntegrationResult": [
      "ConflictError",
      "DisableIntegrationPayload",
      "InvalidStateError",
      "NotFoundError"
    ],
    "Error": [
      "ConflictError",
      "InvalidStateError",
      "NoActiveProviderError",
      "NotFoundError",
      "ValidationError"
    ],
    "GenerateTextResult": [
      "ConflictError",
      "GenerateTextPayload",
      "NoActiveProviderError",
      "ValidationError"
    ],
    "InitiatePaymentResult": [
      "ConflictError",
      "InitiatePaymentPayload",
      "NoActiveProviderError",
      "ValidationError"
    ],
    "Node": [
      "ApiKey",
      "AuditEntry",
      "Event",
      "Integration",
      "Operation",
      "Provider",
      "RoutingRule",
      "Webhook",
      "WebhookDelivery"
    ],
    "PauseWebhookResult": [
      "InvalidStateError",
      "NotFoundError",
      "PauseWebhookPayload"
    ],
    "ProcessRefundResult": [
      "ConflictError",
      "NoActiveProviderError",
      "ProcessRefundPayload",
      "ValidationError"
    ],
    "RedeliverWebhookDeliveryResult": [
      "InvalidStateError",
      "NotFoundError",
      "RedeliverWebhookDeliveryPayload"
    ],
    "RequestSignatureResult": [
      "ConflictError",
      "NoActiveProviderError",
      "RequestSignaturePayload",
      "ValidationError"
    ],
    "ResumeWebhookResult": [
      "InvalidStateError",
      "NotFoundError",
      "ResumeWebhookPayload"
    ],
    "RevokeApiKeyResult": [
      "NotFoundError",
      "RevokeApiKeyPayload"
    ],
    "RotateInboundWebhookTokenResult": [
      "ConflictError",
      "InvalidStateError",
      "NotFoundError",
      "RotateInboundWebhookTokenPayload"
    ],
    "RotateIntegrationCredentialsResult": [
      "ConflictError",
      "NotFoundError",
      "RotateIntegrationCredentialsPayload",
      "ValidationError"
    ],
    "RotateWebhookSecretResult": [
      "NotFoundError",
      "RotateWebhookSecretPayload",
      "ValidationError"
    ],
    "SendEmailResult": [
      "ConflictError",
      "NoActiveProviderError",
      "SendEmailPayload",
      "ValidationError"
    ],
    "SendSmsResult": [
      "ConflictError",
      "NoActiveProviderError",
      "SendSmsPayload",
      "ValidationError"
    ],
    "SendTestEventResult": [
      "InvalidStateError",
      "NotFoundError",
      "SendTestEventPayload"
    ],
    "SendWhatsappResult": [
      "ConflictError",
      "NoActiveProviderError",
      "SendWhatsappPayload",
      "ValidationError"
    ],
    "TrackSignatureResult": [
      "ConflictError",
      "NoActiveProviderError",
      "TrackSignaturePayload",
      "ValidationError"
    ],
    "UpdateIntegrationResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateIntegrationPayload",
      "ValidationError"
    ],
    "UpdateRoutingRuleResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateRoutingRulePayload",
      "ValidationError"
    ],
    "UpdateWebhookResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateWebhookPayload",
      "ValidationError"
    ],
    "VerifyIntegrationResult": [
      "ConflictError",
      "InvalidStateError",
      "NotFoundError",
      "VerifyIntegrationPayload"
    ],
    "VerifyPaymentResult": [
      "ConflictError",
      "NoActiveProviderError",
      "ValidationError",
      "VerifyPaymentPayload"
    ]
  }
};
      const result: PossibleTypesResultData = {
  "possibleTypes": {
    "ActivateIntegrationResult": [
      "ActivateIntegrationPayload",
      "ConflictError",
      "InvalidStateError",
      "NotFoundError"
    ],
    "ConfigureIntegrationResult": [
      "ConfigureIntegrationPayload",
      "ConflictError",
      "ValidationError"
    ],
    "CreateApiKeyResult": [
      "ConflictError",
      "CreateApiKeyPayload",
      "ValidationError"
    ],
    "CreateConnectSessionResult": [
      "CreateConnectSessionPayload",
      "ValidationError"
    ],
    "CreateEmbeddingResult": [
      "ConflictError",
      "CreateEmbeddingPayload",
      "NoActiveProviderError",
      "ValidationError"
    ],
    "CreateRoutingRuleResult": [
      "ConflictError",
      "CreateRoutingRulePayload",
      "NotFoundError",
      "ValidationError"
    ],
    "CreateWebhookResult": [
      "ConflictError",
      "CreateWebhookPayload",
      "ValidationError"
    ],
    "DeleteIntegrationResult": [
      "ConflictError",
      "DeleteIntegrationPayload",
      "NotFoundError"
    ],
    "DeleteRoutingRuleResult": [
      "DeleteRoutingRulePayload",
      "NotFoundError"
    ],
    "DeleteWebhookResult": [
      "DeleteWebhookPayload",
      "NotFoundError"
    ],
    "DisableIntegrationResult": [
      "ConflictError",
      "DisableIntegrationPayload",
      "InvalidStateError",
      "NotFoundError"
    ],
    "Error": [
      "ConflictError",
      "InvalidStateError",
      "NoActiveProviderError",
      "NotFoundError",
      "ValidationError"
    ],
    "GenerateTextResult": [
      "ConflictError",
      "GenerateTextPayload",
      "NoActiveProviderError",
      "ValidationError"
    ],
    "InitiatePaymentResult": [
      "ConflictError",
      "InitiatePaymentPayload",
      "NoActiveProviderError",
      "ValidationError"
    ],
    "Node": [
      "ApiKey",
      "AuditEntry",
      "Event",
      "Integration",
      "Operation",
      "Provider",
      "RoutingRule",
      "Webhook",
      "WebhookDelivery"
    ],
    "PauseWebhookResult": [
      "InvalidStateError",
      "NotFoundError",
      "PauseWebhookPayload"
    ],
    "ProcessRefundResult": [
      "ConflictError",
      "NoActiveProviderError",
      "ProcessRefundPayload",
      "ValidationError"
    ],
    "RedeliverWebhookDeliveryResult": [
      "InvalidStateError",
      "NotFoundError",
      "RedeliverWebhookDeliveryPayload"
    ],
    "RequestSignatureResult": [
      "ConflictError",
      "NoActiveProviderError",
      "RequestSignaturePayload",
      "ValidationError"
    ],
    "ResumeWebhookResult": [
      "InvalidStateError",
      "NotFoundError",
      "ResumeWebhookPayload"
    ],
    "RevokeApiKeyResult": [
      "NotFoundError",
      "RevokeApiKeyPayload"
    ],
    "RotateInboundWebhookTokenResult": [
      "ConflictError",
      "InvalidStateError",
      "NotFoundError",
      "RotateInboundWebhookTokenPayload"
    ],
    "RotateIntegrationCredentialsResult": [
      "ConflictError",
      "NotFoundError",
      "RotateIntegrationCredentialsPayload",
      "ValidationError"
    ],
    "RotateWebhookSecretResult": [
      "NotFoundError",
      "RotateWebhookSecretPayload",
      "ValidationError"
    ],
    "SendEmailResult": [
      "ConflictError",
      "NoActiveProviderError",
      "SendEmailPayload",
      "ValidationError"
    ],
    "SendSmsResult": [
      "ConflictError",
      "NoActiveProviderError",
      "SendSmsPayload",
      "ValidationError"
    ],
    "SendTestEventResult": [
      "InvalidStateError",
      "NotFoundError",
      "SendTestEventPayload"
    ],
    "SendWhatsappResult": [
      "ConflictError",
      "NoActiveProviderError",
      "SendWhatsappPayload",
      "ValidationError"
    ],
    "TrackSignatureResult": [
      "ConflictError",
      "NoActiveProviderError",
      "TrackSignaturePayload",
      "ValidationError"
    ],
    "UpdateIntegrationResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateIntegrationPayload",
      "ValidationError"
    ],
    "UpdateRoutingRuleResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateRoutingRulePayload",
      "ValidationError"
    ],
    "UpdateWebhookResult": [
      "ConflictError",
      "NotFoundError",
      "UpdateWebhookPayload",
      "ValidationError"
    ],
    "VerifyIntegrationResult": [
      "ConflictError",
      "InvalidStateError",
      "NotFoundError",
      "VerifyIntegrationPayload"
    ],
    "VerifyPaymentResult": [
      "ConflictError",
      "NoActiveProviderError",
      "ValidationError",
      "VerifyPaymentPayload"
    ]
  }
};
      export default result;
    