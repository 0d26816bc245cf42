window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "id_str" : "9001",
      "full_text" : "Practising for the move. This text is never read by the importer.",
      "created_at" : "Mon Mar 02 10:00:00 +0000 2026"
    }
  }
]
