window.YTD.account.part0 = [
  {
    "account" : {
      "email" : "ada@example.org",
      "createdVia" : "web",
      "username" : "ada_example",
      "accountId" : "1001",
      "createdAt" : "2011-04-01T09:00:00.000Z",
      "accountDisplayName" : "Ada Example"
    }
  }
]
